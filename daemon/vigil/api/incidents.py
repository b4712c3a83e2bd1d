"""Incidents over the API (issue 16): declare (or join), list, read, end, and what the building's
admins and the incident's responder follow while it is open (the link's viewers and uses, the
door events at the building). The use cases and who may are services/incidents.py's and
services/incident_activity.py's; this module parses requests and answers JSON."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from vigil.api.context import Ctx, id_param, iso
from vigil.core.errors import BadRequestError
from vigil.core.incidents import DeclaredVia, IncidentState
from vigil.core.timebase import NS_PER_SECOND
from vigil.doors.alerts import door_event_body
from vigil.services import incidents
from vigil.services.incident_activity import LiveView, incident_activity, incident_door_events

__all__ = ["activity", "declare", "door_events", "end", "get_incident", "list_incidents"]

_STATES = {"all": None, "open": IncidentState.OPEN, "ended": IncidentState.ENDED}


def _request_base(ctx: Ctx) -> str:
    """How this request reached the box: the base of a link URL when [http] public_url is unset."""
    return f"{ctx.request.scheme}://{ctx.request.host}"


def _camera_list(body: dict[str, Any], key: str) -> list[object]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise BadRequestError(f"{key} must be a list of camera ids")
    return value


async def _incident_json(ctx: Ctx, incident_id: int) -> dict[str, Any]:
    view = await incidents.get_incident(ctx.services.env, ctx.caller, incident_id, _request_base(ctx))
    return incidents.incident_json(view, ctx.services.config)


async def declare(ctx: Ctx) -> web.StreamResponse:
    """201 with a new incident, or 200 when the building's open incident was joined."""
    body = await ctx.json_body()
    declared = await incidents.declare(
        ctx.services.env, ctx.caller, building=body.get("building"), cameras=_camera_list(body, "cameras"),
        reason=body.get("reason"), drill=body.get("drill", False), via=DeclaredVia.API)
    incident = await _incident_json(ctx, declared.incident.id)
    return web.json_response({"incident": incident, "joined": declared.joined}, status=200 if declared.joined else 201)


async def list_incidents(ctx: Ctx) -> web.StreamResponse:
    state = ctx.request.query.get("state", "all")
    if state not in _STATES:
        raise BadRequestError("state must be open, ended or all")
    rows = await incidents.list_incidents(ctx.services.env, ctx.caller, _STATES[state])
    return web.json_response({"incidents": [await _incident_json(ctx, r.id) for r in rows]})


async def get_incident(ctx: Ctx) -> web.StreamResponse:
    return web.json_response(await _incident_json(ctx, id_param(ctx, "incident_id")))


async def end(ctx: Ctx) -> web.StreamResponse:
    """End it with a note; its responder link is revoked, and the link's live sessions and
    streams end now (the credential watcher checks at once), not at its next round."""
    incident_id = id_param(ctx, "incident_id")
    body = await ctx.json_body()
    await incidents.end(ctx.services.env, ctx.caller, incident_id, body.get("note"),
                        _camera_list(body, "report_cameras"))
    ctx.credentials_changed()
    return web.json_response(await _incident_json(ctx, incident_id))


def _live_views(ctx: Ctx) -> list[LiveView]:
    """Every live session open now, with when it started on the wall clock."""
    whep = ctx.services.whep
    if whep is None:
        return []
    now_mono = time.monotonic()
    return [LiveView(s.actor, s.camera_id, ctx.now_ns - round((now_mono - s.created_monotonic) * NS_PER_SECOND),
                     s.remote) for s in list(whep.sessions.values())]


async def activity(ctx: Ctx) -> web.StreamResponse:
    found = await incident_activity(ctx.services.env, ctx.caller, id_param(ctx, "incident_id"), _live_views(ctx))
    link_id = found.incident.link_id
    return web.json_response({
        "viewers": [{"link_id": link_id, "camera": v.camera_id, "started_at": iso(v.started_wall_ns),
                     "remote": v.remote} for v in found.viewers],
        "accesses": [{"at": iso(e.wall_ns), "action": e.action, "target": e.target, "outcome": e.outcome,
                      "detail": e.detail} for e in found.accesses]})


async def door_events(ctx: Ctx) -> web.StreamResponse:
    _, events = await incident_door_events(ctx.services.env, ctx.caller, id_param(ctx, "incident_id"))
    return web.json_response({"door_events": [door_event_body(r) for r in events]})
