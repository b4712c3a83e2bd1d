"""The district on the appliance (issue 17, design/district.md): signing in with a hub token, hub
tokens as bearer tokens, renewing a session made from a hub token, and what the appliance says
about its enrolment.

A hub token is checked with the enrolled hub's key and [district]'s policy (core.district
accept_claims); then the appliance decides and audits everything itself, as the shadow user
`hub:<name>` with the token's role and the token's buildings that exist here. A locally disabled
shadow user is refused whatever the hub says. A token signs someone in once (`district_sign_ins`);
as a bearer token it is taken on every request within its lifetime. Each sign-in (or refusal),
renewal and revocation is audited, the change and its entry in one transaction."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from vigil.core.district import SHADOW_PREFIX, DistrictTokenError, HubClaims, TokenPolicy, local_buildings
from vigil.core.district_site import token_policy
from vigil.core.errors import AuthenticationError, ConflictError, TooManyRequestsError
from vigil.core.permissions import Action, Role, Target, UserSubject
from vigil.core.ratelimit import LoginThrottle
from vigil.core.timebase import NS_PER_SECOND
from vigil.district.hub_client import HubRefusedError, renew_token, site_tls
from vigil.district.state import Enrolment, load_enrolment
from vigil.district.tokens import verify_token
from vigil.services.accounts import Authenticated, SignedIn
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.store import district as store
from vigil.store.audit_log import append_in

__all__ = ["DistrictStatus", "HubLink", "PublisherState", "authenticate_bearer", "enrolment", "renew",
           "session_hub", "sign_in", "status"]


def enrolment(env: ServiceEnv) -> Enrolment | None:
    """The enrolment as the files say now (blocking: a database thread's or a CLI's work)."""
    return load_enrolment(env.config.storage.path)


def _policy(env: ServiceEnv, enrolled: Enrolment) -> TokenPolicy:
    d = env.config.district
    return token_policy(enrolled.info, d.max_role, d.skew_s, d.max_token_lifetime_s)


def _claims(env: ServiceEnv, token: str, now_ns: int) -> tuple[Enrolment, HubClaims, tuple[str, ...]]:
    """The checked claims of a hub token and its buildings here; DistrictTokenError naming why not."""
    enrolled = enrolment(env)
    if enrolled is None:
        raise DistrictTokenError("this appliance is not enrolled with a district hub")
    claims = verify_token(enrolled.public_key, token, _policy(env, enrolled), now_ns)
    buildings = local_buildings(claims, (b.id for b in env.config.buildings))
    if claims.role is not Role.DISTRICT_ADMIN and not buildings:
        raise DistrictTokenError("hub token names no building of this appliance")
    return enrolled, claims, buildings


def _refused(env: ServiceEnv, caller: Caller, action: str, target: str, reason: str) -> None:
    with env.index.transaction() as c:
        append_in(c, caller.now_ns, caller.actor, action, target, "refused", caller.audit_detail({"reason": reason}))


def _detail(claims: HubClaims, buildings: tuple[str, ...]) -> dict[str, Any]:
    return {"hub": claims.hub, "hub_user": claims.user, "role": claims.role.value, "buildings": list(buildings),
            "token_id": claims.token_id}


async def sign_in(env: ServiceEnv, caller: Caller, token: str, throttle: LoginThrottle | None = None) -> SignedIn:
    """A browser session from a hub token (`POST /api/district/session`), ending when the token
    does; AuthenticationError (401) naming why not: forged, expired, for another appliance, not
    enrolled, already used to sign in, shadow user disabled here. Refusals are audited and count
    as failed sign-ins of the client's address in the login throttle (429 once it is locked), so
    that nobody fills the audit log with made-up tokens."""
    keys = (f"district:{caller.remote}",)  # its own count: password sign-ins from there go on
    attempt = None if throttle is None else throttle.begin(keys, caller.now_ns / NS_PER_SECOND)
    if throttle is not None and attempt is None:
        raise TooManyRequestsError("too many failed sign-ins; try again later")
    ok = False
    try:
        signed_in = await env.run(lambda: _sign_in(env, caller, token))
        ok = True
        return signed_in
    finally:
        if throttle is not None and attempt is not None:
            throttle.finish(attempt, ok, caller.now_ns / NS_PER_SECOND)


def _sign_in(env: ServiceEnv, caller: Caller, token: str) -> SignedIn:
    """sign_in's database work (blocking)."""
    target = "district"
    try:
        _, claims, buildings = _claims(env, token, caller.now_ns)
        target = f"user:{claims.shadow_user}"
        with env.index.transaction() as c:
            # tokens expired beyond the skew can never be taken again: their rows are not needed
            store.forget_expired_sign_ins_in(c, caller.now_ns - round(env.config.district.skew_s * 1e9) - 1)
            store.record_sign_in_in(c, claims, caller.now_ns)
            user, _ = store.upsert_shadow_user_in(c, claims.shadow_user, claims.role, buildings, caller.now_ns)
            if user.disabled:
                raise AuthenticationError(f"{claims.shadow_user} is disabled on this appliance")
            session, csrf = store.insert_hub_session_in(c, user.id, claims, caller.now_ns)
            signed_in = replace(caller, subject=user.subject())
            append_in(c, caller.now_ns, signed_in.actor, "district.sign_in", target, "ok",
                      signed_in.audit_detail(_detail(claims, buildings)))
            return SignedIn(user.subject(), session, csrf, claims.expires_ns)
    except AuthenticationError as error:  # the transaction rolled back: the refusal alone
        _refused(env, caller, "district.sign_in", target, str(error))
        raise


async def authenticate_bearer(env: ServiceEnv, caller: Caller, token: str) -> Authenticated:
    """A hub token as `Authorization: Bearer vh1...`: the same checks as a sign-in, but taken on
    every request within its lifetime (the hub pulling an export for its user). The shadow user
    is made or updated when the token says something new (audited `district.shadow_user`)."""

    def work() -> Authenticated:
        _, claims, buildings = _claims(env, token, caller.now_ns)
        user = env.accounts.find_user(claims.shadow_user)
        if (user is None or user.role is not claims.role or user.buildings != tuple(sorted(buildings))):
            with env.index.transaction() as c:
                user, changed = store.upsert_shadow_user_in(c, claims.shadow_user, claims.role, buildings,
                                                            caller.now_ns)
                if changed:
                    append_in(c, caller.now_ns, f"hub:{claims.hub}", "district.shadow_user",
                              f"user:{claims.shadow_user}", "ok", caller.audit_detail(_detail(claims, buildings)))
        if user.disabled:
            raise AuthenticationError(f"{claims.shadow_user} is disabled on this appliance")
        return Authenticated(user.subject(), None)

    return await env.run(work)


@dataclass(frozen=True)
class HubLink:
    """What /api/me says of a session made from a hub token."""

    hub_name: str
    hub_url: str


async def session_hub(env: ServiceEnv, token: str | None) -> HubLink | None:
    """The hub a session came from, or None (a local sign-in, an API token, a link)."""
    if token is None:
        return None

    def read() -> HubLink | None:
        if store.hub_session(env.index, token) is None:
            return None
        enrolled = enrolment(env)
        return None if enrolled is None else HubLink(enrolled.info.hub_name, enrolled.info.hub_url)

    return await env.run(read)


async def renew(env: ServiceEnv, caller: Caller, session_token: str | None) -> int:
    """`POST /api/district/renew`: ask the hub (with this site's certificate) for a fresh token of
    the session's user and carry the session to its expiry. The hub refusing (user disabled or
    unscoped, site removed) revokes the session (AuthenticationError, 401); a hub that cannot be
    reached is UnavailableError (503) and the session runs on to its expiry. The new expiry."""
    subject = caller.require_subject()
    found = None if session_token is None else await env.run(lambda: store.hub_session(env.index, session_token))
    if found is None or not isinstance(subject, UserSubject):
        raise ConflictError("this session was not made from a hub token: nothing to renew")
    enrolled = await env.run(lambda: enrolment(env))
    if enrolled is None:
        raise ConflictError("this appliance is no longer enrolled with a district hub")
    hub_user = found.user_name.removeprefix(SHADOW_PREFIX)
    tls = await asyncio.to_thread(site_tls, enrolled)
    try:
        fresh = await renew_token(enrolled, tls, hub_user, found.token_id)
    except HubRefusedError as error:
        reason = str(error)

        def revoke() -> None:
            with env.index.transaction() as c:
                store.revoke_in(c, found.credential_id, caller.now_ns)
                append_in(c, caller.now_ns, caller.actor, "district.renew", f"user:{found.user_name}", "refused",
                          caller.audit_detail({"reason": reason, "session_ended": True}))

        await env.run(revoke)
        raise AuthenticationError(f"the district hub refused to renew this sign-in ({reason}); sign in at the hub"
                                  " again") from None

    def extend() -> int:
        try:
            _, claims, buildings = _claims(env, fresh, caller.now_ns)
        except DistrictTokenError as error:
            _refused(env, caller, "district.renew", f"user:{found.user_name}", f"the hub's token: {error}")
            raise
        if claims.shadow_user != found.user_name:
            raise DistrictTokenError("the hub renewed the sign-in for another user")
        with env.index.transaction() as c:
            user, _ = store.upsert_shadow_user_in(c, claims.shadow_user, claims.role, buildings, caller.now_ns)
            if user.disabled:
                raise AuthenticationError(f"{claims.shadow_user} is disabled on this appliance")
            store.renew_hub_session_in(c, found.credential_id, claims)
            append_in(c, caller.now_ns, caller.actor, "district.renew", f"user:{found.user_name}", "ok",
                      caller.audit_detail(_detail(claims, buildings)))
        return claims.expires_ns

    return await env.run(extend)


@dataclass(frozen=True)
class PublisherState:
    """The district publisher as `GET /api/district` shows it (district/publisher.py)."""

    connected: bool = False
    queued: int = 0
    dropped: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class DistrictStatus:
    enrolled: bool
    site_id: str | None
    hub_id: str | None
    hub_name: str | None
    hub_url: str | None
    broker_host: str | None
    broker_port: int | None


async def status(env: ServiceEnv, caller: Caller) -> DistrictStatus:
    await require(env, caller, Action.VIEW_STATUS, Target())
    enrolled = await env.run(lambda: enrolment(env))
    if enrolled is None:
        return DistrictStatus(False, None, None, None, None, None, None)
    info = enrolled.info
    return DistrictStatus(True, info.site_id, info.hub_id, info.hub_name, info.hub_url, info.broker_host,
                          info.broker_port)
