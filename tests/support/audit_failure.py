"""Make one audit write fail, as a crash between a change and its audit entry would (issue 13):
a trigger on the audit table RAISEs for the entries it names, so the transaction writing them
fails at that statement. What was written before it must not remain."""

from __future__ import annotations

import sqlite3

from vigil.store.index import Index

_TRIGGER = ("CREATE {temp} TRIGGER audit_write_fails BEFORE INSERT ON audit WHEN {when}"
            " BEGIN SELECT RAISE(ABORT, 'the audit write failed'); END")


def when(action: str, target: str | None = None) -> str:
    condition = f"NEW.action = '{action}'"
    return condition if target is None else f"{condition} AND NEW.target = '{target}'"


def fail_audit_writes(index: Index, action: str, target: str | None = None) -> None:
    """On this process's writing connection only (a TEMP trigger: the file's schema is unchanged);
    replaces the one set before."""
    with index.transaction() as c:
        c.execute("DROP TRIGGER IF EXISTS temp.audit_write_fails")
        c.execute(_TRIGGER.format(temp="TEMP", when=when(action, target)))


def heal_audit_writes(index: Index) -> None:
    with index.transaction() as c:
        c.execute("DROP TRIGGER IF EXISTS temp.audit_write_fails")


def fail_audit_writes_in_file(conn: sqlite3.Connection, action: str, target: str | None = None) -> None:
    """In the index file, for another process (the CLI); `heal_audit_writes_in_file` removes it."""
    conn.execute(_TRIGGER.format(temp="", when=when(action, target)))


def heal_audit_writes_in_file(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TRIGGER IF EXISTS audit_write_fails")


def count(index: Index, sql: str) -> int:
    return int(index.query(sql)[0][0])
