"""Push-to-talk over the API (design/intercom.md): the browser's microphone offer in, the answer
and a session URL out; DELETE ends it (webrtc/talk.py holds the sessions).

Every start is audited as `talk.start` (its session, the codec the browser sends, the device
path), a refused one with outcome `failed` and the error's type; every end as `talk.end` with
its duration and reason."""

from __future__ import annotations

from aiohttp import web

from vigil.api.context import Ctx
from vigil.config import CameraConfig
from vigil.core.camera_modes import TalkPath
from vigil.core.errors import (
    BadRequestError,
    NotFoundError,
    TalkError,
    TalkUnsupportedError,
    UnavailableError,
    UnsupportedMediaTypeError,
)
from vigil.core.permissions import Action, Target
from vigil.core.whep_offer import MAX_SDP_BYTES
from vigil.webrtc.talk import TalkSessions


def _talk(ctx: Ctx) -> TalkSessions:
    if ctx.services.talk is None:
        raise UnavailableError("talking is not running on this appliance")
    return ctx.services.talk


def _camera(ctx: Ctx, camera_id: str) -> CameraConfig:
    camera = next((c for c in ctx.services.config.cameras if c.id == camera_id), None)
    if camera is None:
        raise NotFoundError(f"no camera {camera_id!r}")
    return camera


async def offer(ctx: Ctx) -> web.StreamResponse:
    target = ctx.camera_target()
    assert target.camera is not None
    if ctx.request.content_type != "application/sdp":
        raise UnsupportedMediaTypeError("send the SDP offer as application/sdp")
    if (ctx.request.content_length or 0) > MAX_SDP_BYTES:
        raise BadRequestError(f"SDP offer too large (at most {MAX_SDP_BYTES} bytes)")
    body = await ctx.request.read()
    talk = _talk(ctx)
    screened = talk.screen(body)
    camera = _camera(ctx, target.camera)
    where = f"camera:{camera.id}"
    try:
        if camera.talk is TalkPath.OFF:
            raise TalkUnsupportedError(f"camera {camera.id} has no loudspeaker to talk through (its talk setting is"
                                       " off)")
        # Bound to the credential it was opened with: it ends when that no longer grants talk.
        session = await talk.create(camera, screened, ctx.actor, ctx.credential, target)
    except TalkError as error:
        await ctx.audit("talk.start", where, "failed", {"error": error.problem_type, "message": str(error)})
        raise
    codec = session.browser_codec.name if session.browser_codec is not None else None
    await ctx.audit("talk.start", where, "ok", {"session": session.id[:8], "codec": codec, "path": session.path,
                                                "device_codec": session.sink.codec.name})
    return web.Response(status=201, text=talk.answer_sdp(session), content_type="application/sdp",
                        headers={"Location": f"/api/talk/{session.id}", "Cache-Control": "no-store"})


async def end(ctx: Ctx) -> web.StreamResponse:
    talk = _talk(ctx)
    session = talk.get(ctx.request.match_info["session_id"])
    if session is None:
        raise NotFoundError("no such talk session (it ended)")
    # The talker ends their own; otherwise whoever may manage live video of that building.
    if session.actor != ctx.actor:
        building = ctx.services.config.building_of(session.camera_id)
        await ctx.require(Action.MANAGE_LINKS, Target(building=building, camera=session.camera_id))
    reason = "released by its talker" if session.actor == ctx.actor else f"ended by {ctx.actor}"
    duration_s = await talk.close(session.id)
    if duration_s is not None:
        await ctx.audit("talk.end", f"camera:{session.camera_id}", "ok",
                        {"session": session.id[:8], "talker": session.actor, "duration_s": duration_s,
                         "reason": reason})
    return web.Response(status=200, text="", content_type="text/plain")
