"""An incident report's documents, read from the index when the export worker writes the package
(blocking; the worker thread's). What they hold is core/incident_report.py's decision."""

from __future__ import annotations

from vigil.config import Config
from vigil.core.audit_chain import AuditEntry
from vigil.core.incident_report import MANIFEST_MEMBER, manifest_member, report_documents, report_window
from vigil.exports.package import Documents
from vigil.store.audit_log import AuditLog
from vigil.store.door_events import DoorStore
from vigil.store.exports import ExportRow
from vigil.store.holds import EvidenceStore
from vigil.store.incidents import Incidents
from vigil.store.index import Index

AUDIT_PAGE = 5000


def _audit_between(index: Index, start_ns: int, end_ns: int) -> list[AuditEntry]:
    """Every audit entry in [start, end), read a page at a time."""
    log, since = AuditLog(index), start_ns
    out: list[AuditEntry] = []
    seen: set[int] = set()
    while True:
        page = log.entries(since, end_ns, limit=AUDIT_PAGE)
        fresh = [e for e in page if e.id not in seen]
        out += fresh
        seen.update(e.id for e in fresh)
        if len(page) < AUDIT_PAGE or not fresh:
            return out
        since = max(e.wall_ns for e in page)


class IncidentDocuments:
    """The exports.jobs.DocumentSource of the appliance."""

    def __init__(self, config: Config, index: Index) -> None:
        self.config, self.index = config, index

    def __call__(self, row: ExportRow, now_wall_ns: int) -> Documents:
        assert row.incident_id is not None
        incidents = Incidents(self.index)
        incident = incidents.get(row.incident_id)
        window = report_window(incident)
        names = {b.id: b.name for b in self.config.buildings}
        building_name = names.get(incident.building_id, incident.building_id)
        doors = DoorStore(self.index).events(window.hold_start_wall_ns, window.ended_wall_ns + 1,
                                              buildings=[incident.building_id], include_placeless=False)
        bookmarks = EvidenceStore(self.index).bookmarks(start_wall_ns=window.hold_start_wall_ns,
                                                        end_wall_ns=window.ended_wall_ns + 1)
        audit = _audit_between(self.index, window.declared_wall_ns, window.ended_wall_ns + 1)
        files = report_documents(incident, building_name, incidents.joins(incident.id),
                                 incidents.deliveries(incident.id), [(e.id, e) for e in doors], bookmarks, audit,
                                 now_wall_ns)
        return Documents(files, {MANIFEST_MEMBER: manifest_member(incident, building_name)})
