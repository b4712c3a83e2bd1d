"""Reading the audit log."""


from __future__ import annotations

from aiohttp import web

from vigil.api.context import Ctx, iso
from vigil.core.errors import (
    BadRequestError,
)


async def audit_entries(ctx: Ctx) -> web.StreamResponse:
    limit_text = ctx.request.query.get("limit", "1000")
    if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= 10_000:
        raise BadRequestError("limit must be an integer from 1 to 10000")
    entries = ctx.services.audit.entries(ctx.time_param("start"), ctx.time_param("end"),
                                         ctx.request.query.get("actor"), ctx.request.query.get("action"),
                                         int(limit_text))
    return web.json_response([{"id": e.id, "at": iso(e.wall_ns), "actor": e.actor, "action": e.action,
                               "target": e.target, "outcome": e.outcome, "detail": e.detail, "hash": e.hash}
                              for e in entries])
