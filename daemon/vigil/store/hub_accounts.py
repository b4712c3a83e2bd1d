"""The hub's users and their browser sessions (store/hub_db.py's hub_users, hub_sessions).

Functions taking a connection write inside the caller's open transaction (the hub's use cases
commit a change and its audit entry together); those taking the Index read. A session token is
random, shown once and stored only as its SHA-256, like the appliance's credentials."""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass

from vigil.core.errors import ConflictError, NotFoundError
from vigil.core.hub_permissions import HubUser
from vigil.core.permissions import Role
from vigil.store.accounts import token_sha256
from vigil.store.index import Index

HUB_SESSION_PREFIX = "vigil_hs_"


@dataclass(frozen=True)
class HubUserRow:
    user: HubUser
    password_hash: str


@dataclass(frozen=True)
class HubSession:
    user: HubUser
    csrf_token: str
    expires_ns: int


def _user(row: sqlite3.Row) -> HubUser:
    return HubUser(int(row["id"]), str(row["name"]), Role(row["role"]), tuple(json.loads(row["scopes"])),
                   bool(row["disabled"]))


def insert_user(c: sqlite3.Connection, name: str, role: Role, scopes: tuple[str, ...], password_hash: str,
                now_ns: int) -> HubUser:
    if c.execute("SELECT 1 FROM hub_users WHERE name = ?", (name,)).fetchone():
        raise ConflictError(f"hub user {name!r} exists already")
    cur = c.execute("INSERT INTO hub_users (name, role, scopes, password_hash, created_wall_ns)"
                    " VALUES (?, ?, ?, ?, ?)", (name, role.value, json.dumps(list(scopes)), password_hash, now_ns))
    return HubUser(int(cur.lastrowid or 0), name, role, scopes, False)


def find_user(index: Index, name: str) -> HubUserRow | None:
    rows = index.query("SELECT * FROM hub_users WHERE name = ?", (name,))
    return HubUserRow(_user(rows[0]), str(rows[0]["password_hash"])) if rows else None


def list_users(index: Index) -> list[HubUser]:
    return [_user(r) for r in index.query("SELECT * FROM hub_users ORDER BY name")]


def disable_user_in(c: sqlite3.Connection, name: str, now_ns: int) -> tuple[HubUser, int]:
    """Disable `name` and revoke its sessions: (the user as it was, sessions revoked)."""
    row = c.execute("SELECT * FROM hub_users WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFoundError(f"no hub user {name!r}")
    c.execute("UPDATE hub_users SET disabled = 1 WHERE id = ?", (row["id"],))
    cur = c.execute("UPDATE hub_sessions SET revoked_wall_ns = ? WHERE user_id = ? AND revoked_wall_ns IS NULL",
                    (now_ns, row["id"]))
    return _user(row), cur.rowcount


def insert_session(c: sqlite3.Connection, user_id: int, now_ns: int, expires_ns: int) -> tuple[str, str]:
    """(session token, CSRF token). The session token is not stored; keep it."""
    token = HUB_SESSION_PREFIX + secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    c.execute("INSERT INTO hub_sessions (user_id, token_sha256, csrf_token, created_wall_ns, expires_wall_ns)"
              " VALUES (?, ?, ?, ?, ?)", (user_id, token_sha256(token), csrf, now_ns, expires_ns))
    return token, csrf


def session_of(index: Index, token: str, now_ns: int) -> HubSession | None:
    """The live session a cookie names: not revoked, not expired, its user not disabled."""
    rows = index.query(
        "SELECT hub_users.*, hub_sessions.csrf_token, hub_sessions.expires_wall_ns AS session_expires"
        " FROM hub_sessions JOIN hub_users ON hub_users.id = hub_sessions.user_id"
        " WHERE hub_sessions.token_sha256 = ? AND hub_sessions.revoked_wall_ns IS NULL"
        " AND hub_sessions.expires_wall_ns > ? AND hub_users.disabled = 0", (token_sha256(token), now_ns))
    if not rows:
        return None
    return HubSession(_user(rows[0]), str(rows[0]["csrf_token"]), int(rows[0]["session_expires"]))


def revoke_session_in(c: sqlite3.Connection, token: str, now_ns: int) -> bool:
    cur = c.execute("UPDATE hub_sessions SET revoked_wall_ns = ? WHERE token_sha256 = ? AND revoked_wall_ns IS NULL",
                    (now_ns, token_sha256(token)))
    return cur.rowcount > 0


def user_in(c: sqlite3.Connection, name: str) -> HubUser | None:
    row = c.execute("SELECT * FROM hub_users WHERE name = ?", (name,)).fetchone()
    return _user(row) if row else None
