"""Exports pulled from sites into the district archive (the hub's `pulls` table): a request and its
audit entry in one transaction, the worker's outcome and its audit entry in another."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from vigil.core.hub_permissions import HubUser
from vigil.core.permissions import Role
from vigil.store.audit_log import append_in
from vigil.store.index import Index


@dataclass(frozen=True)
class PullRow:
    id: int
    site: str
    export_id: int
    state: str  # pending | verified | failed
    path: str | None
    sha256: str | None
    bytes: int | None
    error: str | None
    requested_by: str  # the hub user's name
    created_ns: int
    finished_ns: int | None


def _pull(row: sqlite3.Row) -> PullRow:
    return PullRow(int(row["id"]), str(row["site_id"]), int(row["export_id"]), str(row["state"]), row["path"],
                   row["sha256"], row["bytes"], row["error"], str(row["requested_by"]), int(row["created_wall_ns"]),
                   row["finished_wall_ns"])


def request_pull(index: Index, user: HubUser, site: str, export_id: int, now_ns: int) -> PullRow:
    with index.transaction() as c:
        cur = c.execute("INSERT INTO pulls (site_id, export_id, requested_by, state, created_wall_ns)"
                        " VALUES (?, ?, ?, 'pending', ?)", (site, export_id, user.name, now_ns))
        pull_id = int(cur.lastrowid or 0)
        append_in(c, now_ns, user.actor, "hub.pull.request", f"site:{site}", "ok",
                  {"pull": pull_id, "export_id": export_id})
        return _pull(c.execute("SELECT * FROM pulls WHERE id = ?", (pull_id,)).fetchone())


def pulls(index: Index, sites: frozenset[str] | None, limit: int = 200) -> list[PullRow]:
    """Newest first, of `sites` (None: all)."""
    if sites is None:
        rows = index.query("SELECT * FROM pulls ORDER BY id DESC LIMIT ?", (limit,))
    else:
        marks = ",".join("?" * len(sites))
        rows = index.query(f"SELECT * FROM pulls WHERE site_id IN ({marks}) ORDER BY id DESC LIMIT ?",  # noqa: S608
                           (*sorted(sites), limit))
    return [_pull(r) for r in rows]


def pending(index: Index) -> list[PullRow]:
    return [_pull(r) for r in index.query("SELECT * FROM pulls WHERE state = 'pending' ORDER BY id")]


def finish_pull(index: Index, pull: PullRow, *, ok: bool, path: str | None, sha256: str | None, size: int | None,
                error: str | None, now_ns: int) -> None:
    """The pull's outcome and its audit entry `hub.pull` (actor: who asked for it)."""
    with index.transaction() as c:
        c.execute("UPDATE pulls SET state = ?, path = ?, sha256 = ?, bytes = ?, error = ?, finished_wall_ns = ?"
                  " WHERE id = ? AND state = 'pending'",
                  ("verified" if ok else "failed", path, sha256, size, error, now_ns, pull.id))
        append_in(c, now_ns, f"hub_user:{pull.requested_by}", "hub.pull", f"site:{pull.site}",
                  "ok" if ok else "failed", {"pull": pull.id, "export_id": pull.export_id, "path": path,
                                             "sha256": sha256, "bytes": size, "error": error})


def hub_user_named(index: Index, name: str) -> HubUser | None:
    """The hub user a pull is made for, as they are now (disabled users get no token)."""
    rows = index.query("SELECT id, name, role, scopes, disabled FROM hub_users WHERE name = ?", (name,))
    if not rows:
        return None
    r = rows[0]
    try:
        scopes = json.loads(r["scopes"])
    except ValueError:
        scopes = []
    return HubUser(int(r["id"]), str(r["name"]), Role(r["role"]),
                   tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else (),
                   bool(r["disabled"]))
