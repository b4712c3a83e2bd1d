"""Evidence exports over the API: create (202, runs in the background), progress, download."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from vigil.api.context import Ctx, id_param, iso, require_user
from vigil.core.errors import ConflictError, UnavailableError
from vigil.core.export_request import parse_export_request, requested_cameras
from vigil.core.permissions import Action, Target
from vigil.exports.jobs import ExportJobs
from vigil.exports.package import exports_dir
from vigil.store.exports import ExportRow


def _jobs(ctx: Ctx) -> ExportJobs:
    if ctx.services.exports is None:
        raise UnavailableError("exports are not available on this appliance right now")
    return ctx.services.exports


def _require_cameras(ctx: Ctx, cameras: tuple[str, ...]) -> None:
    """Every camera must be exportable by the caller: one refusal refuses the whole export."""
    for camera in cameras:
        ctx.require(Action.EXPORT, Target(building=ctx.services.config.building_of(camera), camera=camera))


def _export_json(row: ExportRow) -> dict[str, Any]:
    r = row.request
    return {"id": row.id, "state": row.state, "created_by": row.created_by, "created_at": iso(row.created_wall_ns),
            "cameras": list(r.cameras), "start": iso(r.start_wall_ns), "end": iso(r.end_wall_ns),
            "start_wall_ns": r.start_wall_ns, "end_wall_ns": r.end_wall_ns, "reason": r.reason,
            "case_id": r.case_id, "segments_total": row.segments_total, "segments_done": row.segments_done,
            "bytes_total": row.bytes_total, "bytes_done": row.bytes_done, "error": row.error,
            "finished_at": iso(row.finished_wall_ns), "size_bytes": row.package_size_bytes,
            "manifest_sha256": row.manifest_sha256,
            "download": f"/api/exports/{row.id}/download" if row.state == "done" else None}


def _row(ctx: Ctx) -> ExportRow:
    row = _jobs(ctx).store.get(id_param(ctx, "export_id"))
    _require_cameras(ctx, row.request.cameras)
    return row


async def create_export(ctx: Ctx) -> web.StreamResponse:
    user = require_user(ctx)
    body = await ctx.json_body()
    config = ctx.services.config
    cameras = requested_cameras(body, {c.id: c.building for c in config.cameras})
    _require_cameras(ctx, cameras)  # before any other check or work
    request = parse_export_request(body, cameras, ctx.now_ns)
    export_id = await asyncio.to_thread(_jobs(ctx).submit, request, user.actor, ctx.now_ns)
    ctx.audit("export.create", f"export:{export_id}", "ok", {
        "cameras": list(request.cameras), "start": iso(request.start_wall_ns), "end": iso(request.end_wall_ns),
        "start_ns": request.start_wall_ns, "end_ns": request.end_wall_ns, "reason": request.reason,
        "case_id": request.case_id})
    row = _jobs(ctx).store.get(export_id)
    return web.json_response(_export_json(row), status=202, headers={"Location": f"/api/exports/{export_id}"})


async def export_status(ctx: Ctx) -> web.StreamResponse:
    return web.json_response(_export_json(_row(ctx)))


async def download(ctx: Ctx) -> web.StreamResponse:
    row = _row(ctx)
    if row.state != "done" or row.package_name is None:
        raise ConflictError(f"export {row.id} is {row.state}; download it when its state is done")
    path = exports_dir(ctx.services.config) / row.package_name
    if not path.is_file():
        raise ConflictError(f"export {row.id}'s package is no longer on the appliance; export again")
    ctx.audit("export.download", f"export:{row.id}", "ok", {"manifest_sha256": row.manifest_sha256,
                                                            "size_bytes": row.package_size_bytes})
    return web.FileResponse(path, headers={
        "Content-Type": "application/zip", "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="vigil-{row.package_name}"'})
