"""A camera's timeline (recorded spans, gaps and why, motion, bookmarks, holds) and the storage
report. The merging is core.timeline's; the figures core.storage_report's."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from vigil.api.cameras import playback_range
from vigil.api.context import Ctx, iso
from vigil.api.door_events import timeline_door_events
from vigil.api.holds import bookmark_json, hold_json, may_manage
from vigil.core.errors import BadRequestError
from vigil.core.figure_scope import FigureScope, figures_scope
from vigil.core.permissions import camera_visible
from vigil.core.storage_report import StorageReport, for_caller
from vigil.core.timebase import NS_PER_SECOND
from vigil.core.timeline import coverage
from vigil.record.storage_usage import read_storage_report
from vigil.store.timeline import read_timeline

MAX_TIMELINE_NS = 31 * 86_400 * NS_PER_SECOND


def _span(start_ns: int, end_ns: int) -> dict[str, Any]:
    return {"start": iso(start_ns), "end": iso(end_ns), "start_wall_ns": start_ns, "end_wall_ns": end_ns}


async def timeline(ctx: Ctx) -> web.StreamResponse:
    target = playback_range(ctx)
    assert target.camera is not None and target.start_ns is not None and target.end_ns is not None
    start, end = target.start_ns, target.end_ns
    if end - start > MAX_TIMELINE_NS:
        raise BadRequestError("a timeline covers at most 31 days; ask for a shorter range")
    inputs = await asyncio.to_thread(read_timeline, ctx.services.index, target.camera, target.building, start, end)
    cover = coverage(inputs.segments, inputs.runs, inputs.events, start, end, ctx.now_ns)
    holds = []
    for h in inputs.holds:
        item = hold_json(h, ctx.now_ns)
        if not may_manage(ctx, h):  # viewers see that footage is held, not the case behind it
            item = {k: v for k, v in item.items() if k not in ("reason", "case_id", "created_by", "released_by")}
        holds.append(item)
    return web.json_response({
        "camera": target.camera, "start": iso(start), "end": iso(end), "now": iso(ctx.now_ns),
        "recorded": [_span(r.start_wall_ns, r.end_wall_ns) | {"segments": r.segment_count} for r in cover.recorded],
        "gaps": [_span(g.start_wall_ns, g.end_wall_ns) | {"reason": g.reason.value, "detail": g.detail}
                 for g in cover.gaps],
        "motion": [_span(m.start_wall_ns, m.end_wall_ns) | {"peak": m.peak} for m in inputs.motion],
        "bookmarks": [bookmark_json(b) for b in inputs.bookmarks],
        "holds": holds,
        "door_events": await timeline_door_events(ctx, target.camera, target.building, start, end),  # doors
    })


def storage_json(report: StorageReport, scope: FigureScope = FigureScope.APPLIANCE) -> dict[str, Any]:
    return {
        "scope": scope.value,
        "disks": [{"path": d.path, "capacity_bytes": d.capacity_bytes, "used_bytes": d.used_bytes,
                   "free_bytes": d.free_bytes} for d in report.disks],
        "recorded_bytes": report.recorded_bytes, "held_bytes": report.held_bytes,
        "budget_bytes": report.budget_bytes, "max_bytes": report.max_bytes, "min_free_bytes": report.min_free_bytes,
        "retain_days": report.retain_days,
        "warning": {"level": report.warning.level.value, "message": report.warning.message,
                    "held_fraction": report.warning.held_fraction},
        "cameras": [{"id": c.camera_id, "recorded_bytes": c.recorded_bytes, "held_bytes": c.held_bytes,
                     "segments": c.segment_count, "oldest": iso(c.oldest_wall_ns), "newest": iso(c.newest_wall_ns)}
                    for c in report.cameras],
    }


async def storage(ctx: Ctx) -> web.StreamResponse:
    """The storage report, scoped to the caller (core.figure_scope)."""
    config = ctx.services.config
    visible = [c.id for c in config.cameras if camera_visible(ctx.user_subject, c.id, c.building)]
    scope = figures_scope(ctx.user_subject).scope
    report = await asyncio.to_thread(read_storage_report, ctx.services.index, config, ctx.now_ns, visible)
    return web.json_response(storage_json(report if scope is FigureScope.APPLIANCE else for_caller(report), scope))
