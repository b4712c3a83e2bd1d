"""Motion search over HTTP: intervals (optionally only those touching a region) and the range's
heatmap. The search is services/cameras.py's."""

from __future__ import annotations

from aiohttp import web

from vigil.api.cameras import playback_range
from vigil.api.context import Ctx
from vigil.core.motion_intervals import parse_region
from vigil.services.cameras import MotionQuery, motion_json, search_motion


async def motion(ctx: Ctx) -> web.StreamResponse:
    target = playback_range(ctx)
    assert target.camera is not None and target.start_ns is not None and target.end_ns is not None
    region = ctx.request.query.get("region")
    query = MotionQuery(target.camera, target.start_ns, target.end_ns, None if region is None else parse_region(region))
    return web.json_response(motion_json(await search_motion(ctx.services.env, ctx.caller, query)))
