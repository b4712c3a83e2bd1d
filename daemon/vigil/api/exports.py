"""Evidence exports over the API: create (202, runs in the background), list, progress, download.
Parse, then services/exports.py (who may, the writes with their audit entries, off the loop), then
JSON or the package."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vigil.api.context import Ctx, id_param, iso, require_user
from vigil.core.errors import BadRequestError, UnavailableError
from vigil.services import exports
from vigil.services.exports import MAX_LISTED, ExportQuery, ExportRow


def _require_available(ctx: Ctx) -> None:
    if ctx.services.exports is None:
        raise UnavailableError("exports are not available on this appliance right now")


def _export_json(row: ExportRow) -> dict[str, Any]:
    r = row.request
    return {"id": row.id, "state": row.state, "created_by": row.created_by, "created_at": iso(row.created_wall_ns),
            "cameras": list(r.cameras), "start": iso(r.start_wall_ns), "end": iso(r.end_wall_ns),
            "start_wall_ns": r.start_wall_ns, "end_wall_ns": r.end_wall_ns, "reason": r.reason,
            "case_id": r.case_id, "segments_total": row.segments_total, "segments_done": row.segments_done,
            "bytes_total": row.bytes_total, "bytes_done": row.bytes_done, "error": row.error,
            "finished_at": iso(row.finished_wall_ns), "size_bytes": row.package_size_bytes,
            "manifest_sha256": row.manifest_sha256,
            "download": f"/api/exports/{row.id}/download" if row.state == "done" else None,
            "incident": row.incident_id}  # the export is this incident's report


async def create_export(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    body = await ctx.json_body()
    row = await exports.create_export(ctx.services.env, ctx.caller, ctx.services.exports, body)
    return web.json_response(_export_json(row), status=202, headers={"Location": f"/api/exports/{row.id}"})


async def list_exports(ctx: Ctx) -> web.StreamResponse:
    """The exports the caller may see, newest first (the index is read even when the export
    worker is not running: past exports stay listed)."""
    require_user(ctx)
    limit_text = ctx.request.query.get("limit", "100")
    if not (limit_text.isascii() and limit_text.isdigit()):
        raise BadRequestError(f"limit must be an integer from 1 to {MAX_LISTED}")
    query = ExportQuery(ctx.request.query.get("state"), int(limit_text))
    rows = await exports.list_exports(ctx.services.env, ctx.caller, query)
    return web.json_response([_export_json(r) for r in rows])


async def export_status(ctx: Ctx) -> web.StreamResponse:
    _require_available(ctx)
    return web.json_response(_export_json(await exports.export_status(ctx.services.env, ctx.caller,
                                                                      id_param(ctx, "export_id"))))


async def download(ctx: Ctx) -> web.StreamResponse:
    _require_available(ctx)
    package = await exports.download(ctx.services.env, ctx.caller, id_param(ctx, "export_id"))
    return web.FileResponse(package.path, headers={
        "Content-Type": "application/zip", "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="vigil-{package.row.package_name}"'})
