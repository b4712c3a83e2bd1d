"""Hub users and their sign-ins: signing in (Argon2id, the login throttle), sessions (the cookie
token stored as its SHA-256, a CSRF token), users added and disabled. Disabling a user revokes its
sessions in the same transaction, so its next token request fails at once. Each change commits
with its audit entry (store.audit_log.append_in)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from vigil.core.district import DISTRICT_ROLES, HUB_USER, SITE_ID
from vigil.core.errors import AuthenticationError, BadRequestError, TooManyRequestsError
from vigil.core.hub_permissions import HubUser
from vigil.core.permissions import Role
from vigil.core.ratelimit import LoginThrottle, Outcome
from vigil.core.timebase import NS_PER_SECOND
from vigil.hub.audit import audit
from vigil.hub.env import HubEnv
from vigil.passwords import hash_password, verify_password
from vigil.store import hub_accounts
from vigil.store.audit_log import append_in

SCOPE = re.compile(r"^([a-z0-9][a-z0-9_-]{0,62})/([a-z0-9][a-z0-9_-]{0,62})$")


@dataclass(frozen=True)
class SignedIn:
    user: HubUser
    token: str  # the session cookie's value: never logged
    csrf_token: str
    expires_ns: int


async def sign_in(env: HubEnv, name: str, password: str, remote: str | None, throttle: LoginThrottle,
                  now_ns: int) -> SignedIn:
    """A new session, or AuthenticationError (TooManyRequestsError while throttled). Failures are
    audited (`failed`, `locked`); the session and its `hub.login` entry commit together."""
    keys = (f"remote:{remote}", f"user:{name}@{remote}")
    attempt = throttle.begin(keys, now_ns / NS_PER_SECOND)
    if attempt is None:
        raise TooManyRequestsError("too many failed sign-ins; try again later")
    settled = False
    try:
        found = await env.run(lambda: hub_accounts.find_user(env.db, name))
        ok = await asyncio.to_thread(verify_password, found.password_hash if found else None, password)
        good = ok and found is not None and not found.user.disabled
        outcome = throttle.finish(attempt, good, env.clock_ns() / NS_PER_SECOND)
        settled = True
    finally:
        if not settled:  # cancelled mid-check: a failure, never a free guess
            throttle.finish(attempt, False, env.clock_ns() / NS_PER_SECOND)
    target = f"hub_user:{name}"
    detail: dict[str, object] = {"remote": remote}
    if outcome is not Outcome.OK or found is None:
        await audit(env, now_ns, "anonymous", "hub.login", target, outcome.value, detail)
        if outcome is Outcome.LOCKED:
            raise TooManyRequestsError("too many failed sign-ins; try again later")
        raise AuthenticationError("invalid name or password")
    user = found.user
    expires_ns = now_ns + round(env.config.session_hours * 3600 * NS_PER_SECOND)

    def write() -> tuple[str, str]:
        with env.db.transaction() as c:
            token, csrf = hub_accounts.insert_session(c, user.user_id, now_ns, expires_ns)
            append_in(c, now_ns, user.actor, "hub.login", target, "ok", detail)
            return token, csrf

    token, csrf = await env.run(write)
    return SignedIn(user, token, csrf, expires_ns)


async def session_user(env: HubEnv, token: str, now_ns: int) -> hub_accounts.HubSession | None:
    return await env.run(lambda: hub_accounts.session_of(env.db, token, now_ns))


async def sign_out(env: HubEnv, user: HubUser, token: str, now_ns: int) -> None:
    def write() -> None:
        with env.db.transaction() as c:
            hub_accounts.revoke_session_in(c, token, now_ns)
            append_in(c, now_ns, user.actor, "hub.logout", user.actor, "ok", {})

    await env.run(write)


def check_new_user(name: str, role: Role, scopes: tuple[str, ...]) -> None:
    if not HUB_USER.fullmatch(name):
        raise BadRequestError("a hub user name is 1-64 letters, digits and ._@- (starting with a letter or digit)")
    if role not in DISTRICT_ROLES:
        raise BadRequestError(f"a hub user's role is one of {', '.join(r.value for r in DISTRICT_ROLES)}")
    for scope in scopes:
        match = SCOPE.fullmatch(scope)
        if match is None or not SITE_ID.fullmatch(match.group(1)):
            raise BadRequestError(f"scope {scope!r} is not SITE/BUILDING")
    if role is Role.DISTRICT_ADMIN and scopes:
        raise BadRequestError("a district_admin sees every site: give it no --scope")
    if role is not Role.DISTRICT_ADMIN and not scopes:
        raise BadRequestError(f"a {role.value} needs at least one --scope SITE/BUILDING")


async def add_user(env: HubEnv, actor: str, name: str, role: Role, scopes: tuple[str, ...], password: str,
                   now_ns: int) -> HubUser:
    check_new_user(name, role, scopes)
    password_hash = await asyncio.to_thread(hash_password, password)

    def write() -> HubUser:
        with env.db.transaction() as c:
            user = hub_accounts.insert_user(c, name, role, tuple(sorted(set(scopes))), password_hash, now_ns)
            append_in(c, now_ns, actor, "hub.user.add", user.actor, "ok",
                      {"role": role.value, "scopes": list(user.scopes)})
            return user

    return await env.run(write)


async def disable_user(env: HubEnv, actor: str, name: str, now_ns: int) -> HubUser:
    """Disable the user and revoke its sessions: its next token request fails."""
    def write() -> HubUser:
        with env.db.transaction() as c:
            user, revoked = hub_accounts.disable_user_in(c, name, now_ns)
            append_in(c, now_ns, actor, "hub.user.disable", user.actor, "ok", {"sessions_revoked": revoked})
            return user

    return await env.run(write)
