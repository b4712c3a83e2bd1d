"""The district on the appliance (services/district.py): signing in with a hub token, renewing such
a session, and the enrolment's state."""

from __future__ import annotations

from aiohttp import web

from vigil.api.context import SESSION_COOKIE, Ctx, iso
from vigil.api.session import set_auth_cookie, subject_json
from vigil.core.errors import AuthenticationError, BadRequestError
from vigil.services import district
from vigil.services.caller import Via
from vigil.services.district import PublisherState


async def sign_in(ctx: Ctx) -> web.StreamResponse:
    if ctx.request.content_type != "application/json":  # a cross-site form cannot send JSON
        raise BadRequestError("send the token as application/json")
    token = (await ctx.json_body()).get("token")
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise BadRequestError('body must be {"token": string}')
    signed_in = await district.sign_in(ctx.services.env, ctx.caller, token, ctx.services.throttle)
    ctx.subject, ctx.token, ctx.csrf_token = signed_in.subject, signed_in.token, signed_in.csrf_token
    ctx.via = Via.SESSION  # the answer describes the session it starts
    response = web.json_response({"user": await subject_json(ctx), "csrf_token": signed_in.csrf_token,
                                  "expires_at": iso(signed_in.expires_ns)})
    max_age_s = max(1, (signed_in.expires_ns - ctx.now_ns) // 1_000_000_000)
    set_auth_cookie(response, ctx, SESSION_COOKIE, signed_in.token, max_age_s)
    return response


async def renew(ctx: Ctx) -> web.StreamResponse:
    try:
        expires_ns = await district.renew(ctx.services.env, ctx.caller, ctx.token if ctx.via is Via.SESSION else None)
    except AuthenticationError:
        ctx.credentials_changed()  # a refused renewal revoked the session: its live views end now
        raise
    response = web.json_response({"expires_at": iso(expires_ns)})
    assert ctx.token is not None
    set_auth_cookie(response, ctx, SESSION_COOKIE, ctx.token, max(1, (expires_ns - ctx.now_ns) // 1_000_000_000))
    return response


async def status(ctx: Ctx) -> web.StreamResponse:
    found = await district.status(ctx.services.env, ctx.caller)
    publisher = ctx.services.district_publisher() if found.enrolled else PublisherState()
    return web.json_response({
        "enrolled": found.enrolled, "site_id": found.site_id, "hub_id": found.hub_id, "hub_name": found.hub_name,
        "hub_url": found.hub_url,
        "broker": None if found.broker_host is None else {"host": found.broker_host, "port": found.broker_port},
        "publisher": {"connected": publisher.connected, "queued": publisher.queued, "dropped": publisher.dropped,
                      "last_error": publisher.last_error}})
