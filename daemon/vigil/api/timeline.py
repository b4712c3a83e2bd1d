"""A camera's timeline over HTTP (recorded spans, gaps and why, motion, bookmarks, holds, door
events): the range parsed here, the use case services/timeline.py's."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vigil.api.cameras import playback_range
from vigil.api.context import Ctx, iso
from vigil.api.holds import bookmark_json, hold_json
from vigil.doors.alerts import door_event_body
from vigil.services.timeline import TimelineHold, TimelineQuery, camera_timeline

_CASE_FIELDS = ("reason", "case_id", "created_by", "released_by")  # shown only to who may manage the hold


def _span(start_ns: int, end_ns: int) -> dict[str, Any]:
    return {"start": iso(start_ns), "end": iso(end_ns), "start_wall_ns": start_ns, "end_wall_ns": end_ns}


def _hold(item: TimelineHold, now_ns: int) -> dict[str, Any]:
    body = hold_json(item.hold, now_ns)
    return body if item.manageable else {k: v for k, v in body.items() if k not in _CASE_FIELDS}


async def timeline(ctx: Ctx) -> web.StreamResponse:
    target = playback_range(ctx)
    assert target.camera is not None and target.start_ns is not None and target.end_ns is not None
    t = await camera_timeline(ctx.services.env, ctx.caller, TimelineQuery(target.camera, target.start_ns,
                                                                           target.end_ns))
    return web.json_response({
        "camera": t.camera_id, "start": iso(t.start_ns), "end": iso(t.end_ns), "now": iso(t.now_ns),
        "recorded": [_span(r.start_wall_ns, r.end_wall_ns) | {"segments": r.segment_count} for r in t.recorded],
        "gaps": [_span(g.start_wall_ns, g.end_wall_ns) | {"reason": g.reason.value, "detail": g.detail}
                 for g in t.gaps],
        "motion": [_span(m.start_wall_ns, m.end_wall_ns) | {"peak": m.peak} for m in t.motion],
        "bookmarks": [bookmark_json(b) for b in t.bookmarks],
        "holds": [_hold(h, t.now_ns) for h in t.holds],
        "door_events": [door_event_body(e) for e in t.door_events],
    })
