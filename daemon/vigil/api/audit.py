"""Reading the audit log (services/audit.py)."""

from __future__ import annotations

from aiohttp import web

from vigil.api.context import Ctx, iso
from vigil.core.errors import BadRequestError
from vigil.services import audit


async def audit_entries(ctx: Ctx) -> web.StreamResponse:
    limit_text = ctx.request.query.get("limit", "1000")
    if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= audit.MAX_ENTRIES:
        raise BadRequestError(f"limit must be an integer from 1 to {audit.MAX_ENTRIES}")
    order = ctx.request.query.get("order", "oldest")
    if order not in ("oldest", "newest"):
        raise BadRequestError("order must be oldest (the default) or newest")
    query = audit.AuditQuery(ctx.time_param("start"), ctx.time_param("end"), ctx.request.query.get("actor"),
                             ctx.request.query.get("action"), int(limit_text), order == "newest")
    entries = await audit.entries(ctx.services.env, ctx.caller, query)
    return web.json_response([{"id": e.id, "at": iso(e.wall_ns), "actor": e.actor, "action": e.action,
                               "target": e.target, "outcome": e.outcome, "detail": e.detail, "hash": e.hash}
                              for e in entries])


async def audit_verify(ctx: Ctx) -> web.StreamResponse:
    """Every entry's hash and its link to the one before; the first broken entry if any."""
    check = await audit.verify(ctx.services.env, ctx.caller)
    return web.json_response({"ok": check.ok, "entries": check.entries, "head_hash": check.head_hash,
                              "first_broken_id": check.first_broken_id, "problem": check.problem})
