"""Motion search: intervals (optionally only those touching a region) and the range's heatmap."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vigil.api.cameras import playback_range
from vigil.api.context import Ctx
from vigil.core.errors import BadRequestError
from vigil.core.motion_intervals import MotionInterval, bitmask_cells, region_bitmask
from vigil.core.timebase import wall_ns_to_iso
from vigil.store.motion import MotionStore


def parse_region(text: str | None) -> int | None:
    """'x0,y0,x1,y1' in fractions of the picture → a cell bitmask (None: everywhere)."""
    if text is None:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
        return region_bitmask(x0, y0, x1, y1)
    except ValueError as error:
        raise BadRequestError(f"region: {error}" if "region" in str(error) else
                              "region must be x0,y0,x1,y1 (fractions 0..1 of width and height)") from None


def motion_json(store: MotionStore, camera_id: str, start_ns: int, end_ns: int, region: int | None
                ) -> dict[str, Any]:
    def interval(i: MotionInterval) -> dict[str, Any]:
        return {"start": wall_ns_to_iso(i.start_wall_ns), "end": wall_ns_to_iso(i.end_wall_ns),
                "start_wall_ns": i.start_wall_ns, "end_wall_ns": i.end_wall_ns, "peak": i.peak,
                "cells": [list(c) for c in bitmask_cells(i.cells)]}

    heat = store.heatmap(camera_id, start_ns, end_ns)
    return {"camera": camera_id, "start": wall_ns_to_iso(start_ns), "end": wall_ns_to_iso(end_ns),
            "intervals": [interval(i) for i in store.intervals(camera_id, start_ns, end_ns, region)],
            "heatmap": [[round(float(v), 3) for v in row] for row in heat]}


async def motion(ctx: Ctx) -> web.StreamResponse:
    target = playback_range(ctx)
    assert target.camera is not None and target.start_ns is not None and target.end_ns is not None
    region = parse_region(ctx.request.query.get("region"))
    return web.json_response(motion_json(MotionStore(ctx.services.index), target.camera, target.start_ns,
                                         target.end_ns, region))
