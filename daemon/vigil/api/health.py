"""The appliance's health over HTTP, scoped to what the caller may see (core.figure_scope): the
figures are services/cameras.py's `health`, from what the running daemon knows."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from vigil import __version__
from vigil.api.context import Ctx
from vigil.core.figure_scope import FigureScope
from vigil.services.cameras import ApplianceState
from vigil.services.cameras import health as health_figures
from vigil.system.boot_loader import read_update_status


async def health(ctx: Ctx) -> web.StreamResponse:
    services = ctx.services
    state = ApplianceState(
        statuses=services.cameras,
        storage_state="ok" if services.appliance is None else services.appliance.storage_state().value,
        budget=services.budget_problem(),  # e.g. min_free_bytes larger than the disk (core/retention.py)
        live_session_cameras=() if services.whep is None else tuple(
            s.camera_id for s in services.whep.sessions.values()),
        started_wall_ns=services.started_wall_ns, tasks=len(asyncio.all_tasks()))
    h = health_figures(services.env, ctx.caller, state)
    body: dict[str, Any] = {
        "status": "ok" if h.ok else "degraded", "version": __version__, "storage": h.storage, "scope": h.scope.value,
        "uptime_s": h.uptime_s,
        "cameras": {"total": h.cameras_total, "up": h.cameras_up, "recording": h.cameras_recording,
                    "paused": dict(h.paused), "clock_skew_ms": dict(h.clock_skew_ms)},
        "live_sessions": h.live_sessions,
    }
    if h.scope is FigureScope.APPLIANCE:
        body["tasks"] = h.tasks
        # Live re-encodes running (webrtc/transcode.py), those in their stop grace included.
        body["live_transcodes"] = 0 if services.whep is None else len(services.whep.transcoders.all())
        body["storage_budget"] = None if h.budget is None else {
            "key": h.budget.key, "impossible": h.budget.impossible, "message": h.budget.message}
        # The A/B slots (appliance only): the booted one and an update that rolled back by itself.
        update = await asyncio.to_thread(read_update_status)
        if update is not None:
            body["update"] = {"booted": update.get("booted"), "rolled_back": update.get("rolled_back")}
    return web.json_response(body)
