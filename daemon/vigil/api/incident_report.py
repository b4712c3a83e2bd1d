"""`POST /api/incidents/{incident_id}/report`: ask (again) for an ended incident's report, a signed
export package (services/incident_report.py decides who may and queues it, off the loop). The
report is made by itself when the incident ends; this is for one that failed, or to make a
fresh one. Answers 202 with the export's id (`GET /api/exports/{id}` shows its progress)."""

from __future__ import annotations

from aiohttp import web

from vigil.api.context import Ctx, id_param, require_user
from vigil.api.schemas import INT, obj
from vigil.services.incident_report import request_report

__all__ = ["REPORT", "ask_report"]

REPORT = obj({"export_id": INT})


async def ask_report(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    export_id = await request_report(ctx.services.env, ctx.caller, ctx.services.exports,
                                     id_param(ctx, "incident_id"))
    return web.json_response({"export_id": export_id}, status=202, headers={"Location": f"/api/exports/{export_id}"})
