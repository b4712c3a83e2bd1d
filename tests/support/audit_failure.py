"""Make one audit write fail, as a crash between a change and its audit entry would (issue 13):
a trigger on the audit table RAISEs for the entries it names, so the transaction writing them
fails at that statement. What was written before it must not remain."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from vigil.store.index import Index

_TRIGGER = ("CREATE {temp} TRIGGER audit_write_fails BEFORE INSERT ON audit WHEN {when}"
            " BEGIN SELECT RAISE(ABORT, 'the audit write failed'); END")


def when(action: str | None, target: str | None = None) -> str:
    """The entries to refuse: one action (and target), or every entry (action None)."""
    condition = "1" if action is None else f"NEW.action = '{action}'"
    return condition if target is None else f"{condition} AND NEW.target = '{target}'"


def fail_audit_writes(index: Index, action: str | None, target: str | None = None) -> None:
    """On this process's writing connection only (a TEMP trigger: the file's schema is unchanged);
    replaces the one set before."""
    with index.transaction() as c:
        c.execute("DROP TRIGGER IF EXISTS temp.audit_write_fails")
        c.execute(_TRIGGER.format(temp="TEMP", when=when(action, target)))


def heal_audit_writes(index: Index) -> None:
    with index.transaction() as c:
        c.execute("DROP TRIGGER IF EXISTS temp.audit_write_fails")


def fail_audit_writes_in_file(conn: sqlite3.Connection, action: str | None, target: str | None = None) -> None:
    """In the index file, for another process (the CLI); `heal_audit_writes_in_file` removes it."""
    conn.execute(_TRIGGER.format(temp="", when=when(action, target)))


def heal_audit_writes_in_file(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TRIGGER IF EXISTS audit_write_fails")


def count(index: Index, sql: str) -> int:
    return int(index.query(sql)[0][0])


def break_audit(index_path: Path) -> None:
    """Every audit write fails, in the index file at `index_path` (any connection, any process)."""
    with contextlib.closing(sqlite3.connect(index_path)) as conn:
        fail_audit_writes_in_file(conn, None)


def rows(index_path: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(index_path)) as conn:
        return list(conn.execute(sql).fetchall())
