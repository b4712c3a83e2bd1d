"""An index a newer vigil migrated stays usable by this one after an update rolls back
(design/storage.md, "Index migrations"), unless a migration in between was breaking."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.core.errors import IndexStateError
from vigil.store.db import MIGRATIONS, connect, migrate
from vigil.store.index import Index

# What a later release might add: a table, and a column with a default on a table we write.
FUTURE = ("CREATE TABLE future_things (id INTEGER PRIMARY KEY, note TEXT);\n"
          "ALTER TABLE storage_dir ADD COLUMN future_flag INTEGER NOT NULL DEFAULT 0;")


def _migrated_by_newer(path: Path, breaking: frozenset[int]) -> None:
    conn = connect(path)
    try:
        assert migrate(conn, 1, (*MIGRATIONS, FUTURE), breaking) == len(MIGRATIONS) + 1
    finally:
        conn.close()


def test_an_index_from_a_newer_additive_schema_opens_and_takes_writes(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    _migrated_by_newer(path, frozenset())
    index = Index.open(path, 2)  # this version, after the rollback
    try:
        with index.transaction() as conn:
            conn.execute("INSERT INTO storage_dir (path, dir_uuid) VALUES ('/srv/vigil', 'd1')")
        assert [tuple(r) for r in index.query("SELECT path, future_flag FROM storage_dir")] == [("/srv/vigil", 0)]
    finally:
        index.close()
    conn = connect(path)
    try:
        assert int(conn.execute("PRAGMA user_version").fetchone()[0]) == len(MIGRATIONS) + 1  # left as it was
    finally:
        conn.close()


def test_a_breaking_migration_is_refused_by_older_versions(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    _migrated_by_newer(path, frozenset({len(MIGRATIONS) + 1}))
    with pytest.raises(IndexStateError, match="breaking migration"):
        Index.open(path, 2)
