"""The district's rows in the index (design/district.md): the hub tokens that signed someone in
(`district_sign_ins`: a token starts one session only), the shadow users `hub:<name>` that district
users act as here, and the sessions made from hub tokens (a session credential labelled
`hub-token:<token id>`, so that renewal knows which hub token it came from).

The functions taking a connection write inside the caller's transaction (a change and its audit
entry commit together)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from vigil.core.district import HubClaims
from vigil.core.errors import AuthenticationError
from vigil.core.permissions import Role
from vigil.store.accounts import UserRow, insert_credential, token_sha256, user_in
from vigil.store.index import Index

HUB_SESSION_LABEL = "hub-token:"
# A shadow user has no password: this is no Argon2 hash, so no password ever verifies against it.
NO_PASSWORD = "!district"  # noqa: S105 - the absence of one


def record_sign_in_in(c: sqlite3.Connection, claims: HubClaims, now_ns: int) -> None:
    """Note that the token signed someone in; AuthenticationError if it already did."""
    if c.execute("SELECT 1 FROM district_sign_ins WHERE token_id = ?", (claims.token_id,)).fetchone():
        raise AuthenticationError("this hub token was already used to sign in: ask the hub for a new link")
    c.execute("INSERT INTO district_sign_ins (token_id, hub_user, used_wall_ns, expires_wall_ns) VALUES (?, ?, ?, ?)",
              (claims.token_id, claims.user, now_ns, claims.expires_ns))


def forget_expired_sign_ins_in(c: sqlite3.Connection, before_ns: int) -> int:
    """Drop sign-ins of tokens expired before `before_ns` (they can no longer be presented)."""
    return c.execute("DELETE FROM district_sign_ins WHERE expires_wall_ns < ?", (before_ns,)).rowcount


def upsert_shadow_user_in(c: sqlite3.Connection, name: str, role: Role, buildings: tuple[str, ...],
                          now_ns: int) -> tuple[UserRow, bool]:
    """The shadow user with this role and these buildings, made if missing; (row, changed). A
    disabled one stays disabled (the caller refuses it)."""
    row = c.execute("SELECT role, buildings FROM users WHERE name = ?", (name,)).fetchone()
    wanted = json.dumps(sorted(buildings))
    if row is None:
        c.execute("INSERT INTO users (name, role, buildings, password_hash, created_wall_ns) VALUES (?, ?, ?, ?, ?)",
                  (name, role.value, wanted, NO_PASSWORD, now_ns))
        return user_in(c, name), True
    changed = row["role"] != role.value or row["buildings"] != wanted
    if changed:
        c.execute("UPDATE users SET role = ?, buildings = ? WHERE name = ?", (role.value, wanted, name))
    return user_in(c, name), changed


def insert_hub_session_in(c: sqlite3.Connection, user_id: int, claims: HubClaims, now_ns: int) -> tuple[str, str]:
    """(session token, csrf token) of a browser session ending with the hub token."""
    token, csrf = insert_credential(c, user_id, "session", HUB_SESSION_LABEL + claims.token_id, now_ns,
                                    claims.expires_ns)
    assert csrf is not None  # sessions always have one
    return token, csrf


@dataclass(frozen=True)
class HubSession:
    credential_id: int
    user_name: str  # the shadow user's
    token_id: str  # of the hub token the session was made from (or last renewed with)
    expires_wall_ns: int


_HUB_SESSION = ("SELECT credentials.id, credentials.label, credentials.expires_wall_ns, users.name"
                " FROM credentials JOIN users ON users.id = credentials.user_id WHERE token_sha256 = ?"
                " AND kind = 'session' AND revoked_wall_ns IS NULL")


def _hub_session(row: sqlite3.Row | None) -> HubSession | None:
    if row is None or not str(row["label"]).startswith(HUB_SESSION_LABEL) or row["expires_wall_ns"] is None:
        return None
    return HubSession(int(row["id"]), str(row["name"]), str(row["label"])[len(HUB_SESSION_LABEL):],
                      int(row["expires_wall_ns"]))


def hub_session_in(c: sqlite3.Connection, token: str) -> HubSession | None:
    """The live session of this token if a hub token made it; None for any other credential."""
    return _hub_session(c.execute(_HUB_SESSION, (token_sha256(token),)).fetchone())


def hub_session(index: Index, token: str) -> HubSession | None:
    """hub_session_in on the read connection."""
    rows = index.query(_HUB_SESSION, (token_sha256(token),))
    return _hub_session(rows[0] if rows else None)


def renew_hub_session_in(c: sqlite3.Connection, credential_id: int, claims: HubClaims) -> None:
    c.execute("UPDATE credentials SET expires_wall_ns = ?, label = ? WHERE id = ?",
              (claims.expires_ns, HUB_SESSION_LABEL + claims.token_id, credential_id))


def revoke_in(c: sqlite3.Connection, credential_id: int, now_ns: int) -> None:
    c.execute("UPDATE credentials SET revoked_wall_ns = ? WHERE id = ? AND revoked_wall_ns IS NULL",
              (now_ns, credential_id))


def revoke_hub_sessions_in(c: sqlite3.Connection, now_ns: int) -> int:
    """End every live session made from a hub token (leaving the district); how many."""
    return c.execute("UPDATE credentials SET revoked_wall_ns = ? WHERE kind = 'session' AND revoked_wall_ns IS NULL"
                     " AND label LIKE ?", (now_ns, HUB_SESSION_LABEL + "%")).rowcount
