"""An audit log that refuses every write (a trigger aborting inserts into `audit`), to show that a
change whose audit entry cannot be written does not remain either (issue 13)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

AUDIT_DOWN = "CREATE TRIGGER audit_down BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit is down'); END"


def break_audit(index_path: Path) -> None:
    """Install the trigger in the index at `index_path` (its own connection: any process sees it)."""
    with contextlib.closing(sqlite3.connect(index_path)) as conn:
        conn.execute(AUDIT_DOWN)


def rows(index_path: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(index_path)) as conn:
        return list(conn.execute(sql).fetchall())
