"""Request handlers. Each gets a Ctx whose subject already passed the route's permission."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from vigil import __version__
from vigil.api.context import SESSION_COOKIE, Ctx
from vigil.core.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    TooManyRequestsError,
)
from vigil.core.figure_scope import FigureScope, figures_scope, live_sessions_shown
from vigil.core.permissions import LinkSubject, Target, UserSubject, camera_visible, visible_buildings
from vigil.core.ratelimit import Outcome
from vigil.core.timebase import NS_PER_SECOND, TICKS_PER_SECOND, wall_ns_to_iso
from vigil.ingest.snapshot import keyframe_to_jpeg
from vigil.passwords import verify_password
from vigil.store.index import SegmentRow

DAY_NS = 86_400 * NS_PER_SECOND
MAX_SEGMENTS = 5000


def iso(ns: int | None) -> str | None:
    return None if ns is None else wall_ns_to_iso(ns)


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
    if ctx.token is not None and ctx.via == "session":
        ctx.services.accounts.revoke_credential(ctx.token, ctx.now_ns)
        ctx.credentials_changed()  # live sessions and alert streams opened with this sign-in end now
    ctx.audit("logout", ctx.actor)
    response = web.json_response({"signed_out": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def me(ctx: Ctx) -> web.StreamResponse:
    return web.json_response(_subject_json(ctx))


def _visible_cameras(ctx: Ctx) -> list[Any]:
    subject = ctx.user_subject
    return [c for c in ctx.services.config.cameras if camera_visible(subject, c.id, c.building)]


async def health(ctx: Ctx) -> web.StreamResponse:
    """Health of what the caller may see; live sessions of their cameras only, and the daemon's
    task count only for callers with appliance scope (core.figure_scope)."""
    cams = _visible_cameras(ctx)
    states = [ctx.services.cameras.camera_status(c.id) for c in cams]
    up = sum(s.state == "up" for s in states)
    appliance = ctx.services.appliance
    storage = "ok" if appliance is None else appliance.storage_state().value  # missing/foreign: not recording
    # Cameras whose recorder paused because writes failed (core/write_failure.py): disk_full, write_error.
    paused = {c.id: s.paused_reason for c, s in zip(cams, states, strict=True) if s.paused_reason}
    if storage == "ok" and "disk_full" in paused.values():
        storage = "full"  # recording stopped until holds are released or space is freed
    budget = ctx.services.budget_problem()  # e.g. min_free_bytes larger than the disk (core/retention.py)
    impossible = budget is not None and budget.impossible
    scope = figures_scope(ctx.user_subject).scope
    sessions = () if ctx.services.whep is None else tuple(s.camera_id for s in ctx.services.whep.sessions.values())
    body: dict[str, Any] = {
        "status": "ok" if up == len(states) and storage == "ok" and not paused and not impossible else "degraded",
        "version": __version__, "storage": storage, "scope": scope.value,
        "uptime_s": round((ctx.now_ns - ctx.services.started_wall_ns) / NS_PER_SECOND, 1),
        "cameras": {"total": len(states), "up": up, "recording": sum(s.recording for s in states),
                    "paused": paused},
        "live_sessions": live_sessions_shown(scope, sessions, {c.id for c in cams}),
    }
    if scope is FigureScope.APPLIANCE:  # the budget's message names the appliance's figures
        body["tasks"] = len(asyncio.all_tasks())
        body["storage_budget"] = None if budget is None else {
            "key": budget.key, "impossible": budget.impossible, "message": budget.message}
    return web.json_response(body)


async def buildings(ctx: Ctx) -> web.StreamResponse:
    config = ctx.services.config
    visible = visible_buildings(ctx.user_subject, frozenset(b.id for b in config.buildings))
    cams = _visible_cameras(ctx)
    return web.json_response([
        {"id": b.id, "name": b.name, "cameras": [c.id for c in cams if c.building == b.id]}
        for b in config.buildings if b.id in visible
    ])


async def cameras(ctx: Ctx) -> web.StreamResponse:
    since = ctx.now_ns - DAY_NS
    out = []
    for c in _visible_cameras(ctx):
        status = ctx.services.cameras.camera_status(c.id)
        gaps = [e for e in ctx.services.index.events(c.id, "camera_down") if e.wall_ns >= since]
        out.append({
            "id": c.id, "name": c.name, "building": c.building,
            "status": {"state": status.state, "reason": status.reason, "recording": status.recording,
                       "last_frame_at": iso(status.last_frame_wall_ns)},
            "gaps_24h": [{"at": iso(e.wall_ns), "reason": e.reason} for e in gaps[-20:]],
            "has_substream": c.substream_url is not None,
        })
    return web.json_response(out)


def _segment_json(s: SegmentRow) -> dict[str, Any]:
    return {"id": s.id, "start": iso(s.start_wall_ns), "end": iso(s.end_wall_ns), "start_wall_ns": s.start_wall_ns,
            "end_wall_ns": s.end_wall_ns, "duration_s": (s.media_duration_90k or 0) / TICKS_PER_SECOND,
            "frame_count": s.frame_count, "size_bytes": s.size_bytes, "sha256": s.sha256, "codec": s.codec,
            "width": s.width, "height": s.height, "recovered": s.recovered}


def playback_range(ctx: Ctx) -> Target:
    end = ctx.time_param("end", ctx.now_ns)
    start = ctx.time_param("start", (end or ctx.now_ns) - DAY_NS)
    assert start is not None and end is not None
    if end <= start:
        raise BadRequestError("end must be after start")
    return ctx.camera_target(start, end)


async def segments(ctx: Ctx) -> web.StreamResponse:
    target = playback_range(ctx)
    rows = ctx.services.index.segments(target.camera, target.start_ns, target.end_ns)
    return web.json_response({"camera": target.camera, "start": iso(target.start_ns), "end": iso(target.end_ns),
                              "truncated": len(rows) > MAX_SEGMENTS,
                              "segments": [_segment_json(s) for s in rows[:MAX_SEGMENTS]]})


async def snapshot(ctx: Ctx) -> web.StreamResponse:
    target = ctx.camera_target()
    assert target.camera is not None
    latest = ctx.services.cameras.latest_keyframe(target.camera)
    if latest is None:
        raise NotFoundError(f"camera {target.camera} has not sent a picture yet")
    info, keyframe = latest
    jpeg = await asyncio.to_thread(keyframe_to_jpeg, info.codec, info.extradata, keyframe.data)
    return web.Response(body=jpeg, content_type="image/jpeg", headers={
        "Cache-Control": "no-store", "X-Vigil-Captured-At": wall_ns_to_iso(keyframe.received_wall_ns)})


async def audit_entries(ctx: Ctx) -> web.StreamResponse:
    limit_text = ctx.request.query.get("limit", "1000")
    if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= 10_000:
        raise BadRequestError("limit must be an integer from 1 to 10000")
    entries = ctx.services.audit.entries(ctx.time_param("start"), ctx.time_param("end"),
                                         ctx.request.query.get("actor"), ctx.request.query.get("action"),
                                         int(limit_text))
    return web.json_response([{"id": e.id, "at": iso(e.wall_ns), "actor": e.actor, "action": e.action,
                               "target": e.target, "outcome": e.outcome, "detail": e.detail, "hash": e.hash}
                              for e in entries])


def require_user(ctx: Ctx) -> UserSubject:
    if not isinstance(ctx.subject, UserSubject):
        raise PermissionDeniedError("responder links cannot do this")
    return ctx.subject
