"""Signing in and out, and who the caller is."""


from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from vigil.api.context import SESSION_COOKIE, Ctx, iso
from vigil.core.errors import (
    AuthenticationError,
    BadRequestError,
    TooManyRequestsError,
)
from vigil.core.permissions import LinkSubject
from vigil.core.ratelimit import Outcome
from vigil.core.timebase import NS_PER_SECOND
from vigil.passwords import verify_password
from vigil.services.caller import Via


def _subject_json(ctx: Ctx) -> dict[str, Any]:
    s = ctx.user_subject
    if isinstance(s, LinkSubject):
        return {"kind": "link", "link_id": s.link_id, "cameras": sorted(s.cameras), "buildings": sorted(s.buildings),
                "live": s.live, "playback": s.playback, "expires_at": iso(s.expires_ns)}
    return {"kind": "user", "name": s.name, "role": s.role.value, "buildings": sorted(s.buildings)}


def set_auth_cookie(response: web.StreamResponse, ctx: Ctx, name: str, value: str, max_age_s: int) -> None:
    response.set_cookie(name, value, max_age=max_age_s, path="/", httponly=True, samesite="Strict",
                        secure=ctx.services.config.http.tls)


async def login(ctx: Ctx) -> web.StreamResponse:
    if ctx.request.content_type != "application/json":  # a cross-site form cannot send JSON
        raise BadRequestError("send the credentials as application/json")
    body = await ctx.json_body()
    name, password = body.get("name"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str) or not name or len(name) > 200:
        raise BadRequestError("body must be {\"name\": string, \"password\": string}")
    services = ctx.services
    # Per client address (and account at that address): a stranger cannot lock out the real user.
    keys = (f"remote:{ctx.request.remote}", f"user:{name}@{ctx.request.remote}")
    # Reserved before the slow, awaited password check, so parallel guesses cannot outrun the count.
    attempt = services.throttle.begin(keys, ctx.now_ns / NS_PER_SECOND)
    if attempt is None:  # not audited again: the lock (or the failures being checked) already are
        raise TooManyRequestsError("too many failed sign-ins; try again later")
    settled = False
    try:
        user = services.accounts.find_user(name)
        ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
        outcome = services.throttle.finish(attempt, ok and user is not None and not user.disabled,
                                           services.clock_ns() / NS_PER_SECOND)
        settled = True
    finally:
        if not settled:  # cancelled or failed mid-check: a failure, never a free guess
            services.throttle.finish(attempt, False, services.clock_ns() / NS_PER_SECOND)
    if outcome is not Outcome.OK or user is None:
        ctx.audit("login", f"user:{name}", outcome.value)
        if outcome is Outcome.LOCKED:
            raise TooManyRequestsError("too many failed sign-ins; try again later")
        raise AuthenticationError("invalid name or password")
    hours = services.config.access.session_hours
    expires_ns = ctx.now_ns + int(hours * 3600 * NS_PER_SECOND)
    token, csrf = services.accounts.create_credential(user.id, "session", "browser", ctx.now_ns, expires_ns)
    ctx.subject = user.subject()
    ctx.audit("login", f"user:{name}")
    response = web.json_response({"user": _subject_json(ctx), "csrf_token": csrf, "expires_at": iso(expires_ns)})
    set_auth_cookie(response, ctx, SESSION_COOKIE, token, int(hours * 3600))
    return response


async def logout(ctx: Ctx) -> web.StreamResponse:
    if ctx.token is not None and ctx.via is Via.SESSION:
        ctx.services.accounts.revoke_credential(ctx.token, ctx.now_ns)
        ctx.credentials_changed()  # live sessions and alert streams opened with this sign-in end now
    ctx.audit("logout", ctx.actor)
    response = web.json_response({"signed_out": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def me(ctx: Ctx) -> web.StreamResponse:
    return web.json_response(_subject_json(ctx))
