"""The storage report over HTTP (`GET /api/storage`), scoped to the caller: services/storage_report.py."""

from __future__ import annotations

from aiohttp import web

from vigil.api.context import Ctx
from vigil.services.storage_report import report_json, scoped_storage_report


async def storage(ctx: Ctx) -> web.StreamResponse:
    return web.json_response(report_json(await scoped_storage_report(ctx.services.env, ctx.caller)))
