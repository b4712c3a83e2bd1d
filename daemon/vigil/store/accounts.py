"""Users, their credentials (browser sessions, API tokens) and responder links, in the index.

The functions taking a connection (`insert_user(c, ...)`) write inside the caller's open
transaction, so that services/ commit a change and its audit entry together; `Accounts` reads
(on the read connection) and keeps one-transaction forms of the writes for tests and fixtures.

Every credential is a random 256-bit token shown once and stored only as its SHA-256, so a
copy of the database grants nothing. Tokens carry a kind prefix (vigil_s_, vigil_t_, vigil_l_)
so that a leaked one is recognizable (and greppable by secret scanners)."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass

from vigil.core.errors import AuthenticationError, ConflictError, NotFoundError
from vigil.core.links import LINK_PREFIX, LinkGrant
from vigil.core.live_grants import CredentialState
from vigil.core.permissions import LinkSubject, Role, UserSubject
from vigil.store.index import Index

SESSION_PREFIX, API_TOKEN_PREFIX = "vigil_s_", "vigil_t_"


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    role: Role
    buildings: tuple[str, ...]
    password_hash: str
    disabled: bool

    def subject(self) -> UserSubject:
        return UserSubject(self.id, self.name, self.role, frozenset(self.buildings))


@dataclass(frozen=True)
class LinkRow:
    id: int
    created_by: str
    reason: str
    grant: LinkGrant
    created_wall_ns: int
    revoked_wall_ns: int | None
    use_count: int
    last_used_wall_ns: int | None

    def subject(self) -> LinkSubject:
        g = self.grant
        return LinkSubject(self.id, frozenset(g.cameras), frozenset(g.buildings), g.live, g.playback,
                           g.playback_start_ns, g.playback_end_ns, g.expires_ns, g.talk)


@dataclass(frozen=True)
class TokenRow:
    """An API token as listed: never its secret (only the SHA-256 of it is stored)."""

    id: int
    user_name: str
    label: str
    created_wall_ns: int
    revoked_wall_ns: int | None


def _user(row: sqlite3.Row) -> UserRow:
    return UserRow(int(row["id"]), str(row["name"]), Role(row["role"]), tuple(json.loads(row["buildings"])),
                   str(row["password_hash"]), bool(row["disabled"]))


def _link(row: sqlite3.Row) -> LinkRow:
    grant = LinkGrant(tuple(json.loads(row["cameras"])), tuple(json.loads(row["buildings"])), bool(row["live"]),
                      bool(row["playback"]), row["playback_start_wall_ns"], row["playback_end_wall_ns"],
                      int(row["expires_wall_ns"]), str(row["reason"]), bool(row["talk"]))
    return LinkRow(int(row["id"]), str(row["created_by"]), str(row["reason"]), grant, int(row["created_wall_ns"]),
                   row["revoked_wall_ns"], int(row["use_count"]), row["last_used_wall_ns"])


def _user_named(c: sqlite3.Connection, name: str) -> UserRow:
    row = c.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFoundError(f"no user {name!r}")
    return _user(row)


# --- writes inside the caller's transaction ----------------------------------------------------

def insert_user(c: sqlite3.Connection, name: str, role: Role, buildings: tuple[str, ...], password_hash: str,
                now_ns: int) -> int:
    if c.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
        raise ConflictError(f"user {name!r} already exists")
    cur = c.execute("INSERT INTO users (name, role, buildings, password_hash, created_wall_ns)"
                    " VALUES (?, ?, ?, ?, ?)", (name, role.value, json.dumps(sorted(buildings)),
                                                password_hash, now_ns))
    return int(cur.lastrowid or 0)


def users_in(c: sqlite3.Connection) -> list[UserRow]:
    return [_user(r) for r in c.execute("SELECT * FROM users ORDER BY name")]


def set_password_in(c: sqlite3.Connection, name: str, password_hash: str) -> None:
    _update_user(c, name, "password_hash = ?", password_hash)


def revoke_sessions_in(c: sqlite3.Connection, name: str, now_ns: int) -> int:
    """Revoke the user's browser sessions (not their API tokens); how many were live."""
    user = _user_named(c, name)
    cur = c.execute("UPDATE credentials SET revoked_wall_ns = ? WHERE user_id = ? AND kind = 'session'"
                    " AND revoked_wall_ns IS NULL", (now_ns, user.id))
    return cur.rowcount


def set_disabled_in(c: sqlite3.Connection, name: str, disabled: bool, now_ns: int) -> None:
    """Disabling also revokes the user's sessions and tokens."""
    user = _user_named(c, name)
    _update_user(c, name, "disabled = ?", int(disabled))
    if disabled:  # a disabled user's sessions and tokens die with it
        c.execute("UPDATE credentials SET revoked_wall_ns = ? WHERE user_id = ? AND revoked_wall_ns IS NULL",
                  (now_ns, user.id))


def _update_user(c: sqlite3.Connection, name: str, assignment: str, value: object) -> None:
    cur = c.execute(f"UPDATE users SET {assignment} WHERE name = ?", (value, name))  # noqa: S608
    if cur.rowcount == 0:
        raise NotFoundError(f"no user {name!r}")


def insert_credential(c: sqlite3.Connection, user_id: int, kind: str, label: str, now_ns: int,
                      expires_ns: int | None) -> tuple[str, str | None]:
    """(token, csrf token for sessions). The token is not stored; keep it."""
    token = new_token(SESSION_PREFIX if kind == "session" else API_TOKEN_PREFIX)
    csrf = secrets.token_urlsafe(24) if kind == "session" else None
    c.execute("INSERT INTO credentials (kind, user_id, token_sha256, label, csrf_token, created_wall_ns,"
              " expires_wall_ns) VALUES (?, ?, ?, ?, ?, ?, ?)",
              (kind, user_id, token_sha256(token), label, csrf, now_ns, expires_ns))
    return token, csrf


def insert_api_token(c: sqlite3.Connection, user_name: str, label: str, now_ns: int) -> tuple[int, str]:
    """(credential id, token). The token is not stored; keep it."""
    token, _ = insert_credential(c, _user_named(c, user_name).id, "api_token", label, now_ns, None)
    return int(c.execute("SELECT last_insert_rowid()").fetchone()[0]), token


_TOKENS = ("SELECT credentials.id, users.name AS user_name, credentials.label, credentials.created_wall_ns,"
           " credentials.revoked_wall_ns FROM credentials JOIN users ON users.id = credentials.user_id"
           " WHERE credentials.kind = 'api_token'")


def _token(row: sqlite3.Row) -> TokenRow:
    return TokenRow(int(row["id"]), str(row["user_name"]), str(row["label"]), int(row["created_wall_ns"]),
                    row["revoked_wall_ns"])


def api_token_in(c: sqlite3.Connection, token_id: int) -> TokenRow:
    row = c.execute(_TOKENS + " AND credentials.id = ?", (token_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no API token {token_id}")
    return _token(row)


def revoke_api_token_in(c: sqlite3.Connection, token_id: int, now_ns: int) -> TokenRow:
    """Revoke an API token (one revoked already keeps its first revocation time); NotFoundError if
    there is no API token of that id (sessions are not revoked through here)."""
    api_token_in(c, token_id)
    c.execute("UPDATE credentials SET revoked_wall_ns = ? WHERE id = ? AND revoked_wall_ns IS NULL",
              (now_ns, token_id))
    return api_token_in(c, token_id)


def set_role_in(c: sqlite3.Connection, name: str, role: Role, buildings: tuple[str, ...]) -> None:
    cur = c.execute("UPDATE users SET role = ?, buildings = ? WHERE name = ?",
                    (role.value, json.dumps(sorted(buildings)), name))
    if cur.rowcount == 0:
        raise NotFoundError(f"no user {name!r}")


def user_in(c: sqlite3.Connection, name: str) -> UserRow:
    return _user_named(c, name)


def active_district_admins_in(c: sqlite3.Connection) -> int:
    return int(c.execute("SELECT COUNT(*) FROM users WHERE role = ? AND disabled = 0",
                         (Role.DISTRICT_ADMIN.value,)).fetchone()[0])


def revoke_credential_in(c: sqlite3.Connection, token: str, now_ns: int) -> None:
    c.execute("UPDATE credentials SET revoked_wall_ns = ? WHERE token_sha256 = ? AND revoked_wall_ns IS NULL",
              (now_ns, token_sha256(token)))


def use_link_in(c: sqlite3.Connection, token: str, now_ns: int) -> LinkSubject:
    """The subject of a valid responder link, its use counted; AuthenticationError otherwise."""
    row = c.execute("SELECT * FROM links WHERE token_sha256 = ?", (token_sha256(token),)).fetchone()
    if row is None or row["revoked_wall_ns"] is not None or row["expires_wall_ns"] <= now_ns:
        raise AuthenticationError("this link is not valid (expired, revoked or unknown)")
    c.execute("UPDATE links SET use_count = use_count + 1, last_used_wall_ns = ? WHERE id = ?", (now_ns, row["id"]))
    return _link(row).subject()


def insert_link(c: sqlite3.Connection, grant: LinkGrant, created_by: str, now_ns: int,
                token: str | None = None) -> tuple[int, str]:
    """(link id, its token). The token is not stored; keep it. A new random token unless one is
    given (an incident's link: core.incidents.link_token)."""
    token = new_token(LINK_PREFIX) if token is None else token
    cur = c.execute(
        "INSERT INTO links (token_sha256, created_by, reason, cameras, buildings, live, playback,"
        " playback_start_wall_ns, playback_end_wall_ns, created_wall_ns, expires_wall_ns, talk)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (token_sha256(token), created_by, grant.reason, json.dumps(sorted(grant.cameras)),
         json.dumps(sorted(grant.buildings)), int(grant.live), int(grant.playback), grant.playback_start_ns,
         grant.playback_end_ns, now_ns, grant.expires_ns, int(grant.talk)))
    return int(cur.lastrowid or 0), token


def link_in(c: sqlite3.Connection, link_id: int) -> LinkRow:
    row = c.execute("SELECT * FROM links WHERE id = ?", (link_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no link {link_id}")
    return _link(row)


def revoke_link_in(c: sqlite3.Connection, link_id: int, now_ns: int) -> None:
    """Revoke (a link revoked already keeps its first revocation time); NotFoundError if none."""
    cur = c.execute("UPDATE links SET revoked_wall_ns = ? WHERE id = ? AND revoked_wall_ns IS NULL",
                    (now_ns, link_id))
    if cur.rowcount == 0 and not c.execute("SELECT 1 FROM links WHERE id = ?", (link_id,)).fetchone():
        raise NotFoundError(f"no link {link_id}")


class Accounts:
    """Reads on the index's read connection; each write here is one transaction of its own (use the
    connection-taking functions above to write together with an audit entry)."""

    def __init__(self, index: Index) -> None:
        self.index = index

    # --- users -------------------------------------------------------------------------------

    def add_user(self, name: str, role: Role, buildings: tuple[str, ...], password_hash: str, now_ns: int) -> int:
        with self.index.transaction() as c:
            return insert_user(c, name, role, buildings, password_hash, now_ns)

    def find_user(self, name: str) -> UserRow | None:
        rows = self.index.query("SELECT * FROM users WHERE name = ?", (name,))
        return _user(rows[0]) if rows else None

    def user(self, name: str) -> UserRow:
        user = self.find_user(name)
        if user is None:
            raise NotFoundError(f"no user {name!r}")
        return user

    def users(self) -> list[UserRow]:
        return [_user(r) for r in self.index.query("SELECT * FROM users ORDER BY name")]

    def api_tokens(self) -> list[TokenRow]:
        return [_token(r) for r in self.index.query(_TOKENS + " ORDER BY credentials.id")]

    def set_password(self, name: str, password_hash: str) -> None:
        with self.index.transaction() as c:
            set_password_in(c, name, password_hash)

    def set_disabled(self, name: str, disabled: bool, now_ns: int) -> None:
        with self.index.transaction() as c:
            set_disabled_in(c, name, disabled, now_ns)

    # --- sessions and API tokens ---------------------------------------------------------------

    def create_credential(self, user_id: int, kind: str, label: str, now_ns: int,
                          expires_ns: int | None) -> tuple[str, str | None]:
        """(token, csrf token for sessions). The token is not stored; keep it."""
        with self.index.transaction() as c:
            return insert_credential(c, user_id, kind, label, now_ns, expires_ns)

    def authenticate(self, token: str, now_ns: int) -> tuple[UserSubject | LinkSubject, str | None]:
        """(subject, csrf token of a session) for a presented token; AuthenticationError otherwise.

        A link's use is counted here (a write); sessions and API tokens are only read."""
        if token.startswith(LINK_PREFIX):
            with self.index.transaction() as c:
                return use_link_in(c, token, now_ns), None
        rows = self.index.query(
            "SELECT credentials.csrf_token, credentials.expires_wall_ns, credentials.revoked_wall_ns, users.*"
            " FROM credentials JOIN users ON users.id = credentials.user_id WHERE token_sha256 = ?",
            (token_sha256(token),))
        row = rows[0] if rows else None
        if (row is None or row["revoked_wall_ns"] is not None or row["disabled"]
                or (row["expires_wall_ns"] is not None and row["expires_wall_ns"] <= now_ns)):
            raise AuthenticationError("not signed in, or the session expired")
        return _user(row).subject(), row["csrf_token"]

    def credential_states(self, digests: Collection[str]) -> dict[str, CredentialState]:
        """What the index says now about each credential (by token SHA-256) that exists, in one
        query per table whatever the number (the live-session watcher asks every second)."""
        wanted = sorted(set(digests))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        states: dict[str, CredentialState] = {}
        for row in self.index.query(
                "SELECT credentials.token_sha256 AS digest, credentials.kind AS credential_kind,"  # noqa: S608
                " credentials.expires_wall_ns, credentials.revoked_wall_ns, users.*"
                f" FROM credentials JOIN users ON users.id = credentials.user_id WHERE token_sha256 IN ({marks})",
                wanted):
            states[str(row["digest"])] = CredentialState(str(row["credential_kind"]), _user(row).subject(),
                                                         row["revoked_wall_ns"], row["expires_wall_ns"],
                                                         bool(row["disabled"]))
        for row in self.index.query(f"SELECT * FROM links WHERE token_sha256 IN ({marks})", wanted):  # noqa: S608
            link = _link(row)
            states[str(row["token_sha256"])] = CredentialState("link", link.subject(), link.revoked_wall_ns,
                                                               link.grant.expires_ns)
        return states

    # --- responder links -----------------------------------------------------------------------

    def create_link(self, grant: LinkGrant, created_by: str, now_ns: int) -> tuple[int, str]:
        with self.index.transaction() as c:
            return insert_link(c, grant, created_by, now_ns)

    def link(self, link_id: int) -> LinkRow:
        rows = self.index.query("SELECT * FROM links WHERE id = ?", (link_id,))
        if not rows:
            raise NotFoundError(f"no link {link_id}")
        return _link(rows[0])

    def links(self) -> list[LinkRow]:
        return [_link(r) for r in self.index.query("SELECT * FROM links ORDER BY id")]

    def revoke_link(self, link_id: int, now_ns: int) -> None:
        with self.index.transaction() as c:
            revoke_link_in(c, link_id, now_ns)
