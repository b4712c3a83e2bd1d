"""Responder links over the API: create (with a reason), list, revoke, and the landing page
(services/links.py)."""

from __future__ import annotations

import html
from typing import Any

from aiohttp import web

from vigil.api.context import LINK_COOKIE, Ctx, id_param, iso, require_user
from vigil.api.pages import PAGE_HEADERS
from vigil.api.session import set_auth_cookie
from vigil.core.errors import AuthenticationError, BadRequestError
from vigil.core.links import MAX_REASON_CHARS, LinkGrant, landing_location, make_grant
from vigil.core.timebase import NS_PER_SECOND, parse_duration_s, parse_time_ns
from vigil.services import links
from vigil.services.caller import Via
from vigil.services.links import LinkRow


def link_url(ctx: Ctx, token: str) -> str:
    http = ctx.services.config.http
    base = http.public_url or f"{ctx.request.scheme}://{ctx.request.host}"
    return f"{base}/l/{token}"


def _ids(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequestError(f"{key} must be a list of ids")
    return value


def _time(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return parse_time_ns(str(value))
    except ValueError as error:
        raise BadRequestError(f"{key}: {error}") from None


def parse_grant(body: dict[str, Any], ctx: Ctx) -> LinkGrant:
    """The JSON body's types here; what it may ask for in core.links."""
    config = ctx.services.config
    reason, live, playback = body.get("reason"), body.get("live", True), body.get("playback", False)
    talk = body.get("talk", False)
    if not isinstance(reason, str):
        raise BadRequestError(f"reason (incident number or text, 1-{MAX_REASON_CHARS} characters) is required")
    if not isinstance(live, bool) or not isinstance(playback, bool):
        raise BadRequestError("live and playback must be true/false, and at least one true")
    if not isinstance(talk, bool):
        raise BadRequestError("talk must be true or false")
    expires_in = body.get("expires_in", f"{config.access.link_default_hours}h")
    try:
        seconds = parse_duration_s(str(expires_in)) if not isinstance(expires_in, bool) else -1.0
    except ValueError as error:
        raise BadRequestError(f"expires_in: {error}") from None
    return make_grant(
        cameras=_ids(body, "cameras"), buildings=_ids(body, "buildings"), reason=reason, live=live,
        playback=playback, playback_start_ns=_time(body, "playback_start"), playback_end_ns=_time(body, "playback_end"),
        expires_in_s=seconds, known_cameras={c.id for c in config.cameras},
        known_buildings={b.id for b in config.buildings}, max_hours=config.access.link_max_hours, now_ns=ctx.now_ns,
        talk=talk)


def _link_json(row: LinkRow, now_ns: int) -> dict[str, Any]:
    g = row.grant
    state = "revoked" if row.revoked_wall_ns is not None else "expired" if g.expires_ns <= now_ns else "active"
    return {"id": row.id, "state": state, "created_by": row.created_by, "reason": row.reason,
            "cameras": list(g.cameras), "buildings": list(g.buildings), "live": g.live, "playback": g.playback,
            "talk": g.talk, "playback_start": iso(g.playback_start_ns), "playback_end": iso(g.playback_end_ns),
            "created_at": iso(row.created_wall_ns), "expires_at": iso(g.expires_ns),
            "revoked_at": iso(row.revoked_wall_ns), "use_count": row.use_count,
            "last_used_at": iso(row.last_used_wall_ns)}


async def create_link(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    grant = parse_grant(await ctx.json_body(), ctx)
    created = await links.create_link(ctx.services.env, ctx.caller, grant)
    return web.json_response(_link_json(created.link, ctx.now_ns) | {"url": link_url(ctx, created.token)}, status=201)


async def list_links(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    rows = await links.list_links(ctx.services.env, ctx.caller)
    return web.json_response([_link_json(r, ctx.now_ns) for r in rows])


async def revoke_link(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    row = await links.revoke_link(ctx.services.env, ctx.caller, id_param(ctx, "link_id"))
    ctx.credentials_changed()  # its live sessions end now
    return web.json_response(_link_json(row, ctx.now_ns))


# Where a responder lands: the web app's map, which shows only what the link names (the API
# filters every listing to the link's scope) and the link's expiry in the shell.


# What a responder's phone shows for a link that no longer opens: a page, not a JSON problem.
_LINK_ENDED = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link not valid · Vigil</title>
<link rel="stylesheet" href="/assets/app.css">
<main id="content" class="sign-in">
<h1>This link does not open</h1>
<p role="alert">{reason}.</p>
<p>Responder links end when they expire or are revoked. Ask whoever sent it for a new one.</p>
</main>
</html>
"""


async def landing(ctx: Ctx) -> web.StreamResponse:
    """GET /l/{token}: the responder's entry. The token moves into an HttpOnly cookie and the
    browser goes on (303) to the app's map of the link's building (core.links.landing_location),
    so the token leaves the address bar and history. A link that does not open (expired,
    revoked, unknown) gets a page saying so (401)."""
    token = ctx.request.match_info["token"]
    try:
        subject = await links.open_link(ctx.services.env, ctx.caller, token)
    except AuthenticationError as error:
        reason = html.escape(str(error)[:1].upper() + str(error)[1:])
        return web.Response(status=401, text=_LINK_ENDED.format(reason=reason), content_type="text/html",
                            headers=PAGE_HEADERS)
    ctx.subject, ctx.via = subject, Via.LINK
    buildings = [*subject.buildings, *filter(None, map(ctx.services.config.building_of, subject.cameras))]
    response = web.Response(status=303, headers={"Location": landing_location(buildings), "Cache-Control": "no-store",
                                                 "Referrer-Policy": "no-referrer"})
    remaining_s = max(1, (subject.expires_ns - ctx.now_ns) // NS_PER_SECOND)
    set_auth_cookie(response, ctx, LINK_COOKIE, token, int(remaining_s))
    return response
