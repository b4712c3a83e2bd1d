"""Accounts: who the caller is (every API request), signing in (with the login throttle) and out,
users, API tokens, and the first district admin of a new appliance.

Every change commits in one transaction with its audit entry: a change the audit log cannot
record does not happen. User and token management is the appliance's (the CLI, provisioning, the
demo) and, over the API, needs `manage_users` (district admins). An API caller cannot disable or
demote the last active district admin (the CLI on the appliance, the recovery path, can)."""

from __future__ import annotations

import asyncio
import re
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace

from vigil.core.errors import AuthenticationError, BadRequestError, ConflictError, NotFoundError, TooManyRequestsError
from vigil.core.permissions import Action, LinkSubject, Role, Target, UserSubject
from vigil.core.ratelimit import LoginThrottle, Outcome
from vigil.core.timebase import NS_PER_SECOND
from vigil.passwords import hash_password, verify_password
from vigil.services.authorize import require
from vigil.services.caller import Caller, Via
from vigil.services.env import ServiceEnv
from vigil.store import accounts as store
from vigil.store.accounts import TokenRow, UserRow, token_sha256
from vigil.store.audit_log import append_in

__all__ = ["Authenticated", "CreatedToken", "NewUser", "SignIn", "SignedIn", "TokenRow", "User", "add_user",
           "authenticate", "change_role", "check_new_user", "create_api_token", "create_first_admin",
           "credential_digest", "disable_user", "list_api_tokens", "list_users", "revoke_api_token",
           "set_admin_password", "set_password", "sign_in", "sign_out"]

SESSION_LABEL = "browser"
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MAX_LABEL_CHARS = 100


@dataclass(frozen=True)
class Authenticated:
    subject: UserSubject | LinkSubject
    csrf_token: str | None  # a session's; None for API tokens and links


@dataclass(frozen=True)
class SignIn:
    name: str
    password: str


@dataclass(frozen=True)
class SignedIn:
    subject: UserSubject
    token: str  # the session token: shown once (the cookie), stored only as its SHA-256
    csrf_token: str
    expires_ns: int


@dataclass(frozen=True)
class NewUser:
    name: str
    role: Role
    buildings: tuple[str, ...]
    password: str


@dataclass(frozen=True)
class User:
    """A user as listed (no password hash)."""

    name: str
    role: Role
    buildings: tuple[str, ...]
    disabled: bool


@dataclass(frozen=True)
class CreatedToken:
    row: TokenRow
    token: str  # shown once, stored only as its SHA-256


def _listed(row: UserRow) -> User:
    return User(row.name, row.role, row.buildings, row.disabled)


def credential_digest(token: str) -> str:
    """The SHA-256 a credential is stored (and long-lived responses are bound) by."""
    return token_sha256(token)


# --- who the caller is ---------------------------------------------------------------------------

async def authenticate(env: ServiceEnv, caller: Caller, token: str) -> Authenticated:
    """The subject a presented token stands for (a link's use is counted); AuthenticationError
    otherwise. `caller` is the anonymous request; this runs for every request, off the loop."""
    subject, csrf = await env.run(lambda: store.Accounts(env.index).authenticate(token, caller.now_ns))
    return Authenticated(subject, csrf)


# --- signing in and out --------------------------------------------------------------------------

def _audit_alone(env: ServiceEnv, caller: Caller, action: str, target: str, outcome: str) -> None:
    with env.index.transaction() as c:
        append_in(c, caller.now_ns, caller.actor, action, target, outcome, caller.audit_detail())


async def sign_in(env: ServiceEnv, caller: Caller, req: SignIn, throttle: LoginThrottle,
                  clock_ns: Callable[[], int]) -> SignedIn:
    """A new browser session, or AuthenticationError (429 while throttled). Failures are audited
    (`failed`, `locked`); the session and its `login` entry commit together."""
    # Per client address (and account at that address): a stranger cannot lock out the real user.
    keys = (f"remote:{caller.remote}", f"user:{req.name}@{caller.remote}")
    # Reserved before the slow, awaited password check, so parallel guesses cannot outrun the count.
    attempt = throttle.begin(keys, caller.now_ns / NS_PER_SECOND)
    if attempt is None:  # not audited again: the lock (or the failures being checked) already are
        raise TooManyRequestsError("too many failed sign-ins; try again later")
    settled = False
    try:
        user = await env.run(lambda: store.Accounts(env.index).find_user(req.name))
        ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, req.password)
        outcome = throttle.finish(attempt, ok and user is not None and not user.disabled,
                                  clock_ns() / NS_PER_SECOND)
        settled = True
    finally:
        if not settled:  # cancelled or failed mid-check: a failure, never a free guess
            throttle.finish(attempt, False, clock_ns() / NS_PER_SECOND)
    target = f"user:{req.name}"
    if outcome is not Outcome.OK or user is None:
        await env.run(lambda: _audit_alone(env, caller, "login", target, outcome.value))
        if outcome is Outcome.LOCKED:
            raise TooManyRequestsError("too many failed sign-ins; try again later")
        raise AuthenticationError("invalid name or password")
    signed_in = replace(caller, subject=user.subject())
    expires_ns = caller.now_ns + int(env.config.access.session_hours * 3600 * NS_PER_SECOND)
    user_id = user.id

    def write() -> tuple[str, str | None]:
        with env.index.transaction() as c:
            token, csrf = store.insert_credential(c, user_id, "session", SESSION_LABEL, caller.now_ns, expires_ns)
            append_in(c, caller.now_ns, signed_in.actor, "login", target, "ok", signed_in.audit_detail())
            return token, csrf

    token, csrf = await env.run(write)
    assert csrf is not None  # sessions always have one
    return SignedIn(user.subject(), token, csrf, expires_ns)


async def sign_out(env: ServiceEnv, caller: Caller, token: str | None) -> bool:
    """Revoke the caller's session (True) and audit `logout`, in one transaction. API tokens and
    links are not revoked by signing out (False)."""
    revoke = token is not None and caller.via is Via.SESSION

    def write() -> None:
        with env.index.transaction() as c:
            if revoke and token is not None:
                store.revoke_credential_in(c, token, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "logout", caller.actor, "ok", caller.audit_detail())

    await env.run(write)
    return revoke


# --- users and API tokens (the appliance's verbs) ------------------------------------------------

def _check_scope(env: ServiceEnv, role: Role, buildings: tuple[str, ...]) -> None:
    unknown = sorted(set(buildings) - {b.id for b in env.config.buildings})
    if unknown:
        raise BadRequestError(f"unknown buildings {unknown}")
    if role in (Role.BUILDING_ADMIN, Role.VIEWER) and not buildings:
        raise BadRequestError(f"a {role.value} needs at least one --building")


def check_new_user(env: ServiceEnv, req: NewUser) -> None:
    """BadRequestError if the name is not a plain one (letters, digits, `._@-`, at most 64), the
    user's buildings are unknown or a scoped role has none."""
    if not USER_NAME.fullmatch(req.name):
        raise BadRequestError("a user name is 1-64 letters, digits or . _ @ - (starting with a letter or digit)")
    _check_scope(env, req.role, req.buildings)


def _keep_a_district_admin(c: sqlite3.Connection, caller: Caller) -> None:
    """Inside the change's transaction: an API caller may not leave no active district admin
    (raising rolls the change back)."""
    if not caller.is_appliance and store.active_district_admins_in(c) == 0:
        raise ConflictError("this would leave no active district admin")


async def add_user(env: ServiceEnv, caller: Caller, req: NewUser) -> User:
    await require(env, caller, Action.MANAGE_USERS, Target())
    check_new_user(env, req)
    password_hash = await asyncio.to_thread(hash_password, req.password)  # Argon2id: not on the loop

    def write() -> None:
        with env.index.transaction() as c:
            store.insert_user(c, req.name, req.role, req.buildings, password_hash, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "user.add", f"user:{req.name}", "ok",
                      caller.audit_detail({"role": req.role.value, "buildings": sorted(req.buildings)}))

    await env.run(write)
    return User(req.name, req.role, tuple(sorted(req.buildings)), False)


async def set_password(env: ServiceEnv, caller: Caller, name: str, password: str) -> None:
    """A new password, and every browser session of the user signed out (a password is changed
    when it may be known to someone else; their live views end at the credential watcher's next
    check). API tokens are credentials of their own and stay (revoke them one by one)."""
    await require(env, caller, Action.MANAGE_USERS, Target())
    password_hash = await asyncio.to_thread(hash_password, password)

    def write() -> None:
        with env.index.transaction() as c:
            store.set_password_in(c, name, password_hash)
            ended = store.revoke_sessions_in(c, name, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "user.passwd", f"user:{name}", "ok",
                      caller.audit_detail({"sessions_ended": ended}))

    await env.run(write)


async def disable_user(env: ServiceEnv, caller: Caller, name: str) -> User:
    """Disable a user and revoke their sessions and tokens (live sessions end at the watcher's
    next check: the caller that can, calls `credentials_changed`)."""
    await require(env, caller, Action.MANAGE_USERS, Target())

    def write() -> User:
        with env.index.transaction() as c:
            store.set_disabled_in(c, name, True, caller.now_ns)
            _keep_a_district_admin(c, caller)
            append_in(c, caller.now_ns, caller.actor, "user.disable", f"user:{name}", "ok", caller.audit_detail())
            return _listed(store.user_in(c, name))

    return await env.run(write)


async def change_role(env: ServiceEnv, caller: Caller, name: str, role: Role, buildings: tuple[str, ...]) -> User:
    """A user's new role and buildings (audited with the old ones). Their sessions and tokens stay
    and carry the new role from their next request; live responses bound to them are re-checked
    at the watcher's next check (the API asks it to check now)."""
    await require(env, caller, Action.MANAGE_USERS, Target())
    _check_scope(env, role, buildings)

    def write() -> User:
        with env.index.transaction() as c:
            was = store.user_in(c, name)
            store.set_role_in(c, name, role, buildings)
            _keep_a_district_admin(c, caller)
            append_in(c, caller.now_ns, caller.actor, "user.role", f"user:{name}", "ok", caller.audit_detail(
                {"role": role.value, "buildings": sorted(buildings),
                 "was": {"role": was.role.value, "buildings": list(was.buildings)}}))
            return _listed(store.user_in(c, name))

    return await env.run(write)


async def list_users(env: ServiceEnv, caller: Caller) -> list[User]:
    await require(env, caller, Action.MANAGE_USERS, Target())
    rows = await env.run(lambda: store.Accounts(env.index).users())
    return [_listed(r) for r in rows]


async def create_api_token(env: ServiceEnv, caller: Caller, name: str, label: str) -> CreatedToken:
    """A new bearer token of user `name` (no expiry; revoked with the user, or alone). The secret
    is in the answer once and stored only as its SHA-256."""
    await require(env, caller, Action.MANAGE_USERS, Target())
    label = label.strip()
    if not label or len(label) > MAX_LABEL_CHARS or not label.isprintable():
        raise BadRequestError(f"a token's label is 1-{MAX_LABEL_CHARS} printable characters")

    def write() -> CreatedToken:
        with env.index.transaction() as c:
            if store.user_in(c, name).disabled:  # it would never authenticate: say so instead
                raise ConflictError(f"user {name!r} is disabled")
            token_id, token = store.insert_api_token(c, name, label, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "token.create", f"user:{name}", "ok",
                      caller.audit_detail({"label": label, "token_id": token_id}))
            return CreatedToken(store.api_token_in(c, token_id), token)

    return await env.run(write)


async def list_api_tokens(env: ServiceEnv, caller: Caller) -> list[TokenRow]:
    """Every API token, revoked ones too, oldest first (never their secrets)."""
    await require(env, caller, Action.MANAGE_USERS, Target())

    return await env.run(lambda: store.Accounts(env.index).api_tokens())


async def revoke_api_token(env: ServiceEnv, caller: Caller, token_id: int) -> TokenRow:
    """Revoke an API token at once (NotFoundError if there is none of that id). Responses bound
    to it end at the credential watcher's next check; the API asks it to check now."""
    await require(env, caller, Action.MANAGE_USERS, Target())

    def write() -> TokenRow:
        with env.index.transaction() as c:
            row = store.revoke_api_token_in(c, token_id, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "token.revoke", f"token:{token_id}", "ok",
                      caller.audit_detail({"user": row.user_name, "label": row.label}))
            return row

    return await env.run(write)


# --- the first district admin --------------------------------------------------------------------

def _has_admin_or_user(env: ServiceEnv, name: str) -> bool:
    return any(u.name == name or u.role is Role.DISTRICT_ADMIN for u in store.Accounts(env.index).users())


async def create_first_admin(env: ServiceEnv, caller: Caller, name: str) -> str | None:
    """`vigil provision`: a district admin `name` with a random one-time password (returned), unless
    a user of that name or any district admin exists (None: nothing changed)."""
    await require(env, caller, Action.MANAGE_USERS, Target())
    if await env.run(lambda: _has_admin_or_user(env, name)):
        return None
    password = secrets.token_urlsafe(15)
    password_hash = await asyncio.to_thread(hash_password, password)

    def write() -> bool:
        with env.index.transaction() as c:
            if any(u.name == name or u.role is Role.DISTRICT_ADMIN for u in store.users_in(c)):
                return False  # another provisioning got there first
            store.insert_user(c, name, Role.DISTRICT_ADMIN, (), password_hash, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "user.add", f"user:{name}", "ok",
                      caller.audit_detail({"role": Role.DISTRICT_ADMIN.value}))
            return True

    return password if await env.run(write) else None


async def set_admin_password(env: ServiceEnv, caller: Caller, name: str, password: str) -> None:
    """`vigil demo`: district admin `name` with this password, created or (if it exists) given it;
    audited as `user.add` either way."""
    await require(env, caller, Action.MANAGE_USERS, Target())
    password_hash = await asyncio.to_thread(hash_password, password)

    def write() -> None:
        with env.index.transaction() as c:
            try:
                store.set_password_in(c, name, password_hash)
            except NotFoundError:
                store.insert_user(c, name, Role.DISTRICT_ADMIN, (), password_hash, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "user.add", f"user:{name}", "ok",
                      caller.audit_detail({"role": Role.DISTRICT_ADMIN.value}))

    await env.run(write)
