"""Signing in and out, and who the caller is (services/accounts.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vigil.api.context import SESSION_COOKIE, Ctx, iso
from vigil.core.errors import BadRequestError
from vigil.core.permissions import LinkSubject, grants
from vigil.services import accounts, district
from vigil.services.caller import Via


def _subject_json(ctx: Ctx) -> dict[str, Any]:
    s = ctx.user_subject
    cameras_by_building: dict[str, list[str]] = {b.id: [] for b in ctx.services.config.buildings}
    for camera in ctx.services.config.cameras:
        cameras_by_building.setdefault(camera.building, []).append(camera.id)
    can = {action.value: where for action, where in grants(s, cameras_by_building, ctx.now_ns).items()}
    if isinstance(s, LinkSubject):
        return {"kind": "link", "link_id": s.link_id, "cameras": sorted(s.cameras), "buildings": sorted(s.buildings),
                "live": s.live, "playback": s.playback, "talk": s.talk, "expires_at": iso(s.expires_ns), "can": can,
                # the playback window, if the link has one: pages ask only for footage inside it
                "playback_start": iso(s.playback_start_ns), "playback_end": iso(s.playback_end_ns)}
    out = {"kind": "user", "name": s.name, "role": s.role.value, "buildings": sorted(s.buildings), "can": can}
    if ctx.csrf_token is not None:
        out["csrf_token"] = ctx.csrf_token
    return out


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
    signed_in = await accounts.sign_in(services.env, ctx.caller, accounts.SignIn(name, password), services.throttle,
                                       services.clock_ns)
    ctx.subject = signed_in.subject
    hours = services.config.access.session_hours
    response = web.json_response({"user": _subject_json(ctx), "csrf_token": signed_in.csrf_token,
                                  "expires_at": iso(signed_in.expires_ns)})
    set_auth_cookie(response, ctx, SESSION_COOKIE, signed_in.token, int(hours * 3600))
    return response


async def logout(ctx: Ctx) -> web.StreamResponse:
    if await accounts.sign_out(ctx.services.env, ctx.caller, ctx.token):
        ctx.credentials_changed()  # live sessions and alert streams opened with this sign-in end now
    response = web.json_response({"signed_out": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def subject_json(ctx: Ctx) -> dict[str, Any]:
    """The caller as /api/me shows it: a user's `district` names the hub their session came from
    (null for local sign-ins and API tokens; the web app renews hub sessions before they expire)."""
    out = _subject_json(ctx)
    if out["kind"] == "user":
        hub = await district.session_hub(ctx.services.env, ctx.token if ctx.via is Via.SESSION else None)
        out["district"] = None if hub is None else {"hub_name": hub.hub_name, "hub_url": hub.hub_url,
                                                    "expires_at": iso(hub.expires_ns)}
    return out


async def me(ctx: Ctx) -> web.StreamResponse:
    return web.json_response(await subject_json(ctx))
