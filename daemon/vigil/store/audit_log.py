"""The append-only audit log in the index, chained by core.audit_chain."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from vigil.core.audit_chain import GENESIS, AuditEntry, ChainCheck, entry_hash, verify_chain
from vigil.store.index import Index
from vigil.store.rows import where_clause


def _entry(row: sqlite3.Row) -> AuditEntry:
    try:
        detail = json.loads(row["detail"])
    except ValueError:
        detail = {"unparseable": row["detail"]}
    return AuditEntry(int(row["id"]), int(row["wall_ns"]), str(row["actor"]), str(row["action"]), str(row["target"]),
                      str(row["outcome"]), detail if isinstance(detail, dict) else {"value": detail},
                      str(row["prev_hash"]), str(row["hash"]))


def append_in(c: sqlite3.Connection, now_ns: int, actor: str, action: str, target: str, outcome: str,
              detail: dict[str, Any] | None = None) -> int:
    """Chain one entry inside the caller's open transaction (so the entry commits with what it records)."""
    detail = detail or {}
    last = c.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev = str(last[0]) if last else GENESIS
    digest = entry_hash(prev, now_ns, actor, action, target, outcome, detail)
    cur = c.execute("INSERT INTO audit (wall_ns, actor, action, target, outcome, detail, prev_hash, hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (now_ns, actor, action, target, outcome,
                     json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False), prev, digest))
    return int(cur.lastrowid or 0)


class AuditLog:
    def __init__(self, index: Index) -> None:
        self.index = index

    def append(self, now_ns: int, actor: str, action: str, target: str, outcome: str,
               detail: dict[str, Any] | None = None) -> int:
        with self.index.transaction() as c:
            return append_in(c, now_ns, actor, action, target, outcome, detail)

    def entries(self, start_ns: int | None = None, end_ns: int | None = None, actor: str | None = None,
                action: str | None = None, limit: int = 1000, newest_first: bool = False) -> list[AuditEntry]:
        """The matching entries, oldest first, or (newest_first) the newest `limit` of them, newest first."""
        where, params = where_clause({"wall_ns >= ?": start_ns, "wall_ns < ?": end_ns, "actor = ?": actor,
                                      "action = ?": action})
        order = "DESC" if newest_first else ""
        rows = self.index.query(f"SELECT * FROM audit {where} ORDER BY id {order} LIMIT ?",  # noqa: S608
                                (*params, limit))
        return [_entry(r) for r in rows]

    def verify(self) -> ChainCheck:
        return verify_chain(_entry(r) for r in self.index.query("SELECT * FROM audit ORDER BY id"))
