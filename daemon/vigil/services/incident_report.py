"""An ended incident's report: a signed export package (design/evidence.md "Incident reports")
queued for the export worker. Called by the report part when an incident ends (and at start, for
an ended incident with no report), as the appliance, and by `POST /api/incidents/{id}/report`
to ask again (a failed report, say).

Queueing writes, in ONE transaction: the export (naming the incident), the holds on its video's
originals, the incident's `report_export_id` and the audit entries (`export.create`,
`incident.report`). The documents are gathered when the worker writes the package.

Who may: `declare_incident` in the incident's building (building admins, district admins), and
`export` on each camera whose video the report carries; the appliance always."""

from __future__ import annotations

import sqlite3

from vigil.core.errors import ConflictError, UnavailableError
from vigil.core.export_request import ExportRequest
from vigil.core.incident_report import report_spec
from vigil.core.incidents import IncidentState
from vigil.core.permissions import Action, Target
from vigil.exports.jobs import ExportJobs
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import append_in
from vigil.store.exports import ExportStore
from vigil.store.incidents import IncidentRow, Incidents, set_report_in

__all__ = ["INTERRUPTED_PREFIX", "needs_report", "request_report"]

INTERRUPTED_PREFIX = "interrupted"  # exports/jobs.py: a report the daemon stopped before it was made


async def request_report(env: ServiceEnv, caller: Caller, jobs: ExportJobs | None, incident_id: int) -> int:
    """Queue the incident's report; returns the export's id. 404 unknown incident, 403 not the
    caller's, 409 still open, 503 no export worker; a video range still being recorded: 409 with
    Retry-After (core.export_request.require_complete_footage), to be asked again then."""
    row = await env.run(lambda: Incidents(env.index).get(incident_id))
    await require(env, caller, Action.DECLARE_INCIDENT, Target(building=row.building_id))
    if row.state is IncidentState.OPEN:
        raise ConflictError(f"incident {incident_id} is open: its report is made when it ends")
    spec = report_spec(row)
    for camera in spec.cameras:
        await require(env, caller, Action.EXPORT, Target(building=env.config.building_of(camera), camera=camera))
    if jobs is None:
        raise UnavailableError("exports are not available on this appliance right now")
    request = ExportRequest(spec.cameras, spec.start_wall_ns, spec.end_wall_ns, spec.reason, spec.case_id)

    def also_in(c: sqlite3.Connection, export_id: int) -> None:
        set_report_in(c, incident_id, export_id)
        append_in(c, caller.now_ns, caller.actor, "incident.report", f"incident:{incident_id}", "ok",
                  caller.audit_detail({"export": export_id, "cameras": list(spec.cameras), "drill": row.drill,
                                       "previous_export": row.report_export_id}))

    return await env.run(lambda: jobs.submit(request, caller, incident_id=incident_id, also_in=also_in))


def needs_report(env: ServiceEnv) -> list[IncidentRow]:
    """Ended incidents with no report, or whose report the daemon stopped before it was made
    (blocking: a database thread's work). A report that failed otherwise stays failed, visible in
    its export's state, until someone asks again."""
    out = []
    exports = ExportStore(env.index)
    for row in Incidents(env.index).incidents(IncidentState.ENDED, limit=1000):
        if row.report_export_id is None:
            out.append(row)
            continue
        export = exports.get(row.report_export_id)
        if export.state == "failed" and (export.error or "").startswith(INTERRUPTED_PREFIX):
            out.append(row)
    return out
