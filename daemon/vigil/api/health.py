"""The appliance's health, scoped to what the caller may see (core.figure_scope)."""


from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from vigil import __version__
from vigil.api.cameras import visible_cameras
from vigil.api.context import Ctx
from vigil.core.figure_scope import FigureScope, figures_scope, live_sessions_shown
from vigil.core.timebase import NS_PER_SECOND


async def health(ctx: Ctx) -> web.StreamResponse:
    """Health of what the caller may see; live sessions of their cameras only, and the daemon's
    task count only for callers with appliance scope (core.figure_scope)."""
    cams = visible_cameras(ctx)
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
