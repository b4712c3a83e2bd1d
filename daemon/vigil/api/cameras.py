"""Buildings, cameras, their recorded segments and snapshots, as far as the caller may see them.
The listings are services/cameras.py's; `playback_range` parses the camera and range of a path
and query (the route table checks it before the handler runs)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from vigil.api.context import Ctx, iso
from vigil.config import CameraConfig
from vigil.core.camera_modes import Stream, TalkPath
from vigil.core.errors import BadRequestError, NotFoundError
from vigil.core.listen import codec_name
from vigil.core.permissions import Action, Target, decide
from vigil.core.timebase import NS_PER_SECOND, TICKS_PER_SECOND, wall_ns_to_iso
from vigil.ingest.snapshot import keyframe_to_jpeg
from vigil.services.cameras import SegmentQuery, SegmentRow, building_list, camera_list, list_segments

DAY_NS = 86_400 * NS_PER_SECOND
MAX_SEGMENTS = 5000


async def buildings(ctx: Ctx) -> web.StreamResponse:
    return web.json_response([{"id": b.id, "name": b.name, "cameras": list(b.cameras)}
                              for b in building_list(ctx.services.env, ctx.caller)])


def _audio(ctx: Ctx, camera_id: str) -> str | None:
    """The camera's audio codec (pcmu, pcma, aac, opus) as its latest session sent it; None: none."""
    source = ctx.services.cameras.live_source(camera_id, Stream.MAIN)
    return None if source is None or source.audio is None else codec_name(source.audio.codec)


def _may_talk(ctx: Ctx, camera: CameraConfig) -> bool:
    """Whether the page offers push-to-talk: talk is configured and the caller may talk there."""
    if camera.talk is TalkPath.OFF or ctx.subject is None:
        return False
    return decide(ctx.subject, Action.TALK, Target(building=camera.building, camera=camera.id), ctx.now_ns).allowed


async def cameras(ctx: Ctx) -> web.StreamResponse:
    return web.json_response([{
        "id": v.camera.id, "name": v.camera.name, "building": v.camera.building,
        "status": {"state": v.status.state, "reason": v.status.reason, "recording": v.status.recording,
                   "last_frame_at": iso(v.status.last_frame_wall_ns), "clock_skew_ms": v.status.clock_skew_ms},
        "gaps_24h": [{"at": iso(e.wall_ns), "reason": e.reason} for e in v.outages_24h],
        "has_substream": v.camera.substream_url is not None,
        "audio": _audio(ctx, v.camera.id),
        "talk": _may_talk(ctx, v.camera),
    } for v in await camera_list(ctx.services.env, ctx.caller, ctx.services.cameras)])


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
    found = await list_segments(ctx.services.env, ctx.caller,
                                SegmentQuery(target.camera, target.start_ns, target.end_ns, MAX_SEGMENTS))
    return web.json_response({"camera": target.camera, "start": iso(target.start_ns), "end": iso(target.end_ns),
                              "truncated": found.truncated, "segments": [_segment_json(s) for s in found.segments]})


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
