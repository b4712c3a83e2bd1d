"""Buildings, cameras, their recorded segments and snapshots, as far as the caller may see them."""


from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from vigil.api.context import Ctx, iso
from vigil.core.errors import (
    BadRequestError,
    NotFoundError,
)
from vigil.core.permissions import Target, camera_visible, visible_buildings
from vigil.core.timebase import NS_PER_SECOND, TICKS_PER_SECOND, wall_ns_to_iso
from vigil.ingest.snapshot import keyframe_to_jpeg
from vigil.store.index import SegmentRow

DAY_NS = 86_400 * NS_PER_SECOND


MAX_SEGMENTS = 5000


def visible_cameras(ctx: Ctx) -> list[Any]:
    subject = ctx.user_subject
    return [c for c in ctx.services.config.cameras if camera_visible(subject, c.id, c.building)]


async def buildings(ctx: Ctx) -> web.StreamResponse:
    config = ctx.services.config
    visible = visible_buildings(ctx.user_subject, frozenset(b.id for b in config.buildings))
    cams = visible_cameras(ctx)
    return web.json_response([
        {"id": b.id, "name": b.name, "cameras": [c.id for c in cams if c.building == b.id]}
        for b in config.buildings if b.id in visible
    ])


async def cameras(ctx: Ctx) -> web.StreamResponse:
    since = ctx.now_ns - DAY_NS
    out = []
    for c in visible_cameras(ctx):
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
