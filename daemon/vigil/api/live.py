"""Live video over WHEP (RFC 9725): offer in, answer and a session URL out; DELETE ends it."""

from __future__ import annotations

from aiohttp import web

from vigil.api.context import Ctx
from vigil.core.camera_modes import Stream, parse_choice
from vigil.core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    UnavailableError,
    UnsupportedMediaTypeError,
)
from vigil.core.media import Codec
from vigil.core.permissions import Action, Target
from vigil.core.timebase import NS_PER_SECOND
from vigil.core.whep_offer import MAX_SDP_BYTES
from vigil.webrtc.audio_track import AudioSource
from vigil.webrtc.sessions import WhepSessions


def _whep(ctx: Ctx) -> WhepSessions:
    if ctx.services.whep is None:
        raise UnavailableError("live video is not running on this appliance")
    return ctx.services.whep


def _quality(ctx: Ctx) -> Stream:
    quality = parse_choice(Stream, ctx.request.query.get("quality", Stream.MAIN.value))
    if quality is None:
        raise BadRequestError("quality must be main or sub")
    return quality


async def camera_ice_servers(ctx: Ctx) -> web.StreamResponse:
    """What the browser's RTCPeerConnection should use (TURN credentials are per request)."""
    servers = ctx.services.config.webrtc.servers_for(ctx.actor, ctx.now_ns // NS_PER_SECOND)
    return web.json_response({"ice_servers": [s.as_json() for s in servers]})


async def offer(ctx: Ctx) -> web.StreamResponse:
    target = ctx.camera_target()
    assert target.camera is not None
    quality = _quality(ctx)
    if ctx.request.content_type != "application/sdp":
        raise UnsupportedMediaTypeError("send the SDP offer as application/sdp")
    if (ctx.request.content_length or 0) > MAX_SDP_BYTES:
        raise BadRequestError(f"SDP offer too large (at most {MAX_SDP_BYTES} bytes)")
    body = await ctx.request.read()
    source = ctx.services.cameras.live_source(target.camera, quality)
    if source is None:
        raise NotFoundError(f"camera {target.camera} has no {quality} stream configured")
    hint = "" if quality is Stream.SUB else "; try quality=sub if the camera has an H.264 substream"
    if source.codec is None:
        raise UnavailableError(f"camera {target.camera} ({quality}) is not connected yet; retry shortly")
    if source.codec is Codec.H265:
        raise ConflictError(f"camera {target.camera} sends H.265 on its {quality} stream: browsers cannot play it"
                            f" without re-encoding, which this appliance does not do{hint}")
    if source.has_bframes:
        raise ConflictError(f"camera {target.camera} sends B-frames on its {quality} stream, which WebRTC"
                            f" cannot carry as-is{hint}")
    whep = _whep(ctx)
    screened = whep.screen(body)
    # The camera's sound (its main stream's, for either quality) when it sends some.
    audio = None if source.audio is None or source.audio_fanout is None else AudioSource(source.audio_fanout,
                                                                                         source.audio)
    # Bound to the credential it was opened with: it ends when that is revoked or expires.
    session = await whep.create(target.camera, quality, source.fanout, screened, ctx.actor, ctx.credential, target,
                               link=ctx.is_link(), audio=audio)
    session.remote = ctx.request.remote
    location = f"/api/whep/{session.id}"
    detail: dict[str, object] = {"quality": quality, "session": session.id[:8]}
    if session.audio_plan is not None:
        detail["audio"] = session.audio_plan.describe()
    if screened.candidates_dropped:
        detail["candidates_dropped"] = screened.candidates_dropped
    await ctx.audit("live.view", f"camera:{target.camera}", "ok", detail)
    response = web.Response(status=201, text=whep.answer_sdp(session), content_type="application/sdp",
                            headers={"Location": location, "Cache-Control": "no-store"})
    return response


async def end(ctx: Ctx) -> web.StreamResponse:
    session = _whep(ctx).get(ctx.request.match_info["session_id"])
    # The viewer who opened it ends it; otherwise whoever may manage live video of that building.
    building = ctx.services.config.building_of(session.camera_id)
    if session.actor != ctx.actor:
        await ctx.require(Action.MANAGE_LINKS, Target(building=building, camera=session.camera_id))
    await _whep(ctx).close(session.id)
    await ctx.audit("live.end", f"camera:{session.camera_id}", "ok", {"session": session.id[:8]})
    return web.Response(status=200, text="", content_type="text/plain")
