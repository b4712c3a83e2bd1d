"""The hub's HTTP handlers of hub-core (the contract in design/district.md): sign-in and the
session, the sites, tokens for a site, enrolment codes, the enrolment exchange and the sites'
token renewal over mTLS. Each handler gets a HubCtx whose user the route's HubAction already
allowed (hub/app.py); the use cases are in hub/accounts.py, hub/sites.py, hub/site_tokens.py."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from aiohttp import web

from vigil.core.errors import AuthenticationError, BadRequestError, ConflictError, TooManyRequestsError
from vigil.core.hub_permissions import HubUser
from vigil.core.ratelimit import LoginThrottle
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.hub import accounts, sites
from vigil.hub.http import HUB_SESSION_COOKIE, HubCtx
from vigil.hub.keys import peer_common_name
from vigil.hub.site_tokens import issue_token, renew_token
from vigil.store import hub_sites

ENROL_MAC_HEADER = "Vigil-Enrol-Mac"
MAX_MAC_CHARS = 128
THROTTLE = web.AppKey("hub_login_throttle", LoginThrottle)
ENROL_THROTTLE = web.AppKey("hub_enrol_throttle", LoginThrottle)


def enrol_throttle() -> LoginThrottle:
    """Refused enrolments per client address (an installer may mistype a few codes)."""
    return LoginThrottle(max_failures=20, window_s=600.0, lockout_s=600.0)


def user_json(user: HubUser) -> dict[str, Any]:
    return {"name": user.name, "role": user.role.value, "scopes": list(user.scopes)}


async def json_body(ctx: HubCtx) -> dict[str, Any]:
    if ctx.request.content_type != "application/json":  # a cross-site form cannot send JSON
        raise BadRequestError("send a JSON body (Content-Type: application/json)")
    try:
        value = json.loads(await ctx.request.read())
    except (UnicodeDecodeError, ValueError):
        raise BadRequestError("the body is not JSON") from None
    if not isinstance(value, dict):
        raise BadRequestError("the body must be a JSON object")
    return value


def _text(body: dict[str, Any], name: str, max_chars: int = 200) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > max_chars:
        raise BadRequestError(f"{name} must be a non-empty string of at most {max_chars} characters")
    return value


async def sign_in(ctx: HubCtx) -> web.StreamResponse:
    body = await json_body(ctx)
    name, password = _text(body, "name"), _text(body, "password", 1024)
    throttle = ctx.request.app[THROTTLE]
    signed = await accounts.sign_in(ctx.env, name, password, ctx.request.remote, throttle, ctx.now_ns)
    response = web.json_response({"user": user_json(signed.user), "csrf_token": signed.csrf_token,
                                  "expires_at": wall_ns_to_iso(signed.expires_ns)})
    response.set_cookie(HUB_SESSION_COOKIE, signed.token, max_age=round(ctx.env.config.session_hours * 3600),
                        path="/", httponly=True, secure=True, samesite="Strict")
    return response


async def sign_out(ctx: HubCtx) -> web.StreamResponse:
    token = ctx.request.cookies.get(HUB_SESSION_COOKIE, "")
    await accounts.sign_out(ctx.env, ctx.signed_in, token, ctx.now_ns)
    response = web.json_response({"signed_out": True})
    response.del_cookie(HUB_SESSION_COOKIE, path="/")
    return response


async def me(ctx: HubCtx) -> web.StreamResponse:
    config = ctx.env.config
    return web.json_response({"user": user_json(ctx.signed_in), "csrf_token": ctx.csrf_token,
                              "hub": {"id": config.hub_id, "name": config.name}})


async def list_sites(ctx: HubCtx) -> web.StreamResponse:
    visible = ctx.signed_in.sites
    found = await ctx.env.run(lambda: sites.list_sites(ctx.env, visible, ctx.now_ns))
    return web.json_response({"sites": found})


def _next_path(body: dict[str, Any]) -> str:
    value = body.get("next", "/#/")
    if not isinstance(value, str) or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        raise BadRequestError("next must be a path on the site, like /#/live/cam1")
    return value


async def site_token(ctx: HubCtx) -> web.StreamResponse:
    site_id = ctx.request.match_info["site_id"]
    body = await json_body(ctx) if ctx.request.can_read_body else {}
    next_path = _next_path(body)
    user = ctx.signed_in
    site = await ctx.env.run(lambda: hub_sites.get_site(ctx.env.db, site_id))
    if site is not None and site.removed_ns is None and not site.url:
        raise ConflictError(f"site {site_id} has no URL to sign in at")
    token, claims = await ctx.env.run(lambda: issue_token(ctx.env, user, site_id, ctx.now_ns))
    assert site is not None and site.url is not None  # issue_token refused unknown and removed sites
    signin_url = f"{site.url}/#/district-signin?token={token}&next={quote(next_path, safe='')}"
    return web.json_response({"token": token, "expires_at": wall_ns_to_iso(claims.expires_ns),
                              "site_url": site.url, "signin_url": signin_url})


async def create_enrol_code(ctx: HubCtx) -> web.StreamResponse:
    body = await json_body(ctx)
    site_id, name = _text(body, "site_id", 63), _text(body, "name")
    made = await ctx.env.run(lambda: sites.create_enrol_code(ctx.env, ctx.actor, site_id, name, ctx.now_ns))
    return web.json_response({"code": made.code.text, "site_id": made.site_id,
                              "expires_at": wall_ns_to_iso(made.expires_ns)}, status=201)


async def remove_site(ctx: HubCtx) -> web.StreamResponse:
    site_id = ctx.request.match_info["site_id"]
    removed = await ctx.env.run(lambda: sites.remove_site(ctx.env, ctx.actor, site_id, ctx.now_ns))
    return web.json_response(removed)


async def enrol(ctx: HubCtx) -> web.StreamResponse:
    """No sign-in: the request's HMAC under the code proves the code is known."""
    if ctx.request.content_type != "application/json":
        raise BadRequestError("send the enrolment request as application/json")
    mac = ctx.request.headers.get(ENROL_MAC_HEADER, "")
    if not mac or len(mac) > MAX_MAC_CHARS:
        raise AuthenticationError(f"the {ENROL_MAC_HEADER} header is missing")
    raw = await ctx.request.read()
    # Refusals are audited: a bound on them per address keeps a stranger from growing the log.
    throttle, now_s = ctx.request.app[ENROL_THROTTLE], ctx.now_ns / NS_PER_SECOND
    attempt = throttle.begin((f"remote:{ctx.request.remote}",), now_s)
    if attempt is None:
        raise TooManyRequestsError("too many refused enrolments from this address; try again later")
    ok = False
    try:
        answer = await ctx.env.run(lambda: sites.enrol(ctx.env, raw, mac, ctx.request.remote, ctx.now_ns))
        ok = True
    finally:
        throttle.finish(attempt, ok, now_s)
    return web.Response(body=answer.body, content_type="application/json",
                        headers={ENROL_MAC_HEADER: answer.mac, "Cache-Control": "no-store"})


async def renew(ctx: HubCtx) -> web.StreamResponse:
    """No sign-in: the site's client certificate (verified against the district CA by the TLS
    layer; its CN is the site id) asks for a fresh token for one of its district sessions."""
    transport = ctx.request.transport
    peercert = transport.get_extra_info("peercert") if transport is not None else None
    site_id = peer_common_name(peercert)
    if not site_id or not isinstance(peercert, dict):
        raise AuthenticationError("a site certificate from the district CA is needed")
    body = await json_body(ctx)
    user, token_id = _text(body, "user", 64), _text(body, "token_id", 200)
    serial = str(peercert.get("serialNumber", ""))
    token, _ = await ctx.env.run(lambda: renew_token(ctx.env, site_id, serial, user, token_id, ctx.now_ns))
    return web.json_response({"token": token})

