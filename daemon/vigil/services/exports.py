"""Evidence exports: create (queued for the export worker), status, download.

Who may: EXPORT on every camera of the export; one refusal refuses the whole export (and an
export's status and package are the business of those who may export all of its cameras). An
incident's report (`ExportRow.incident_id`; services/incident_report.py) is also, and even with no
camera, the business of who may declare incidents in the incident's building only. A
listing shows each export only to who may export all of its cameras; an export naming a camera
no longer configured (so of no known building) only to district admins.
Creating writes the export, the holds on its originals and the audit entries in ONE transaction
(exports/jobs.py `submit`, on a database thread)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.core.errors import BadRequestError, ConflictError, UnavailableError
from vigil.core.export_request import parse_export_request, requested_cameras
from vigil.core.permissions import Action, Target
from vigil.exports.jobs import ExportJobs
from vigil.exports.package import exports_dir
from vigil.services.authorize import denial_or_none, require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import append_in
from vigil.store.exports import ExportRow, ExportStore
from vigil.store.incidents import Incidents

__all__ = ["EXPORT_STATES", "MAX_LISTED", "Download", "ExportQuery", "ExportRow", "create_export", "download",
           "export_status", "list_exports"]

EXPORT_STATES = ("queued", "running", "done", "failed")
MAX_LISTED = 500


@dataclass(frozen=True)
class Download:
    row: ExportRow
    path: Path  # the package on the appliance


@dataclass(frozen=True)
class ExportQuery:
    """Which exports to list: in a state (None: any), at most `limit`, the newest first."""

    state: str | None = None
    limit: int = 100

    def __post_init__(self) -> None:
        if self.state is not None and self.state not in EXPORT_STATES:
            raise BadRequestError(f"state must be one of {', '.join(EXPORT_STATES)}")
        if not 1 <= self.limit <= MAX_LISTED:
            raise BadRequestError(f"limit must be an integer from 1 to {MAX_LISTED}")


async def _require_cameras(env: ServiceEnv, caller: Caller, cameras: tuple[str, ...]) -> None:
    for camera in cameras:
        await require(env, caller, Action.EXPORT, Target(building=env.config.building_of(camera), camera=camera))


async def create_export(env: ServiceEnv, caller: Caller, jobs: ExportJobs | None,
                        body: Mapping[str, Any]) -> ExportRow:
    """`body`: the request's fields (cameras, buildings, start, end, reason, case_id), checked by
    core.export_request here because the cameras are decided on before anything else is looked at."""
    cameras = requested_cameras(body, {c.id: c.building for c in env.config.cameras})
    await _require_cameras(env, caller, cameras)
    request = parse_export_request(body, cameras, caller.now_ns)
    if jobs is None:
        raise UnavailableError("exports are not available on this appliance right now")
    return await env.run(lambda: jobs.store.get(jobs.submit(request, caller)))


def _report_buildings(env: ServiceEnv, rows: list[ExportRow]) -> dict[int, str]:
    """Incident id -> its building, for the rows that are incident reports (blocking)."""
    store = Incidents(env.index)
    return {i: store.get(i).building_id for i in {r.incident_id for r in rows if r.incident_id is not None}}


def _may_see(env: ServiceEnv, caller: Caller, row: ExportRow, report_buildings: dict[int, str]) -> bool:
    """Whether the caller may export every camera of the export, and for an incident's report
    declare incidents in its building (pure: no audit entry)."""
    if row.incident_id is not None and denial_or_none(
            caller, Action.DECLARE_INCIDENT, Target(building=report_buildings[row.incident_id])) is not None:
        return False
    for camera in row.request.cameras:
        # a camera no longer configured has no building: core.permissions leaves it to district staff
        building = env.config.building_of(camera)
        if denial_or_none(caller, Action.EXPORT, Target(building=building, camera=camera)) is not None:
            return False
    return True


async def list_exports(env: ServiceEnv, caller: Caller, query: ExportQuery) -> list[ExportRow]:
    """The exports the caller may see (those whose every camera they may export), newest first."""
    def read() -> tuple[list[ExportRow], dict[int, str]]:
        rows = ExportStore(env.index).newest_first(query.state)
        return rows, _report_buildings(env, rows)

    rows, report_buildings = await env.run(read)
    return [r for r in rows if _may_see(env, caller, r, report_buildings)][:query.limit]


async def export_status(env: ServiceEnv, caller: Caller, export_id: int) -> ExportRow:
    row = await env.run(lambda: ExportStore(env.index).get(export_id))
    if row.incident_id is not None:
        incident_id = row.incident_id
        building = await env.run(lambda: Incidents(env.index).get(incident_id).building_id)
        await require(env, caller, Action.DECLARE_INCIDENT, Target(building=building))
    await _require_cameras(env, caller, row.request.cameras)
    return row


async def download(env: ServiceEnv, caller: Caller, export_id: int) -> Download:
    """The finished package (409 while it is not, or once it is gone); the download is audited."""
    row = await export_status(env, caller, export_id)
    if row.state != "done" or row.package_name is None:
        raise ConflictError(f"export {row.id} is {row.state}; download it when its state is done")
    path = exports_dir(env.config) / row.package_name

    def audit() -> None:
        if not path.is_file():
            raise ConflictError(f"export {row.id}'s package is no longer on the appliance; export again")
        with env.index.transaction() as c:
            append_in(c, caller.now_ns, caller.actor, "export.download", f"export:{row.id}", "ok",
                      caller.audit_detail({"manifest_sha256": row.manifest_sha256,
                                           "size_bytes": row.package_size_bytes}))

    await env.run(audit)
    return Download(row, path)
