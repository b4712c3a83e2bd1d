"""The incident report: what an ended incident's signed export package says about it. Pure; the
rows and the time are arguments (exports/incident_report.py reads them from the index).

The report is an ordinary `vigil-evidence/1` package (design/evidence.md) with four documents
under `incident/`, listed in the manifest's `files` like every file, and an `incident` member in
the manifest (signed with it):
- `incident/incident.json`: the incident, its joins and its deliveries;
- `incident/door_events.json`: the door events at its building in [hold start, end];
- `incident/bookmarks.json`: the bookmarks of its cameras or its building overlapping that range;
- `incident/video_access.json`: the audit entries of access to video (live, playback, clips,
  thumbnails, exports, responder link opens and uses) in [declared, end], by anyone.
The video is that of the cameras chosen at the end (`report_cameras`) over [hold start, hold end),
segments and clips as in every export."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vigil.core.audit_chain import AuditEntry
from vigil.core.door_record import NewDoorEvent
from vigil.core.evidence_manifest import canonical_json
from vigil.core.timebase import wall_ns_to_iso

REPORT_DIR = "incident/"
INCIDENT_DOC = REPORT_DIR + "incident.json"
DOOR_EVENTS_DOC = REPORT_DIR + "door_events.json"
BOOKMARKS_DOC = REPORT_DIR + "bookmarks.json"
VIDEO_ACCESS_DOC = REPORT_DIR + "video_access.json"
DOCUMENTS = (INCIDENT_DOC, DOOR_EVENTS_DOC, BOOKMARKS_DOC, VIDEO_ACCESS_DOC)
MANIFEST_MEMBER = "incident"
MAX_EXPORT_REASON_CHARS = 500  # core.export_request.MAX_REASON_CHARS

# Audit actions that are access to video (grep the daemon for them: api/routes.py `audit=`, the
# services' append_in calls). `link.use <METHOD> <path>` (every request of a responder link) is
# matched by its prefix.
VIDEO_ACCESS_ACTIONS = frozenset({
    "live.view", "live.end", "live.snapshot",
    "playback.hls", "playback.segment", "playback.clip", "playback.thumbnail", "playback.index",
    "playback.timeline",
    "export.create", "export.done", "export.download",
    "link.open",
})
VIDEO_ACCESS_PREFIXES = ("link.use ",)


class IncidentFacts(Protocol):
    """What the report reads of an incident (store.incidents.IncidentRow has it)."""

    @property
    def id(self) -> int: ...
    @property
    def building_id(self) -> str: ...
    @property
    def cameras(self) -> tuple[str, ...]: ...
    @property
    def whole_building(self) -> bool: ...
    @property
    def reason(self) -> str: ...
    @property
    def drill(self) -> bool: ...
    @property
    def declared_by(self) -> str: ...
    @property
    def declared_via(self) -> Any: ...  # an enum with a .value
    @property
    def declared_wall_ns(self) -> int: ...
    @property
    def hold_start_wall_ns(self) -> int: ...
    @property
    def link_id(self) -> int | None: ...
    @property
    def ended_wall_ns(self) -> int | None: ...
    @property
    def ended_by(self) -> str | None: ...
    @property
    def end_note(self) -> str | None: ...
    @property
    def hold_end_wall_ns(self) -> int | None: ...
    @property
    def report_cameras(self) -> tuple[str, ...]: ...


class JoinFacts(Protocol):
    @property
    def actor(self) -> str: ...
    @property
    def via(self) -> Any: ...
    @property
    def reason(self) -> str: ...
    @property
    def wall_ns(self) -> int: ...


class DeliveryFacts(Protocol):
    @property
    def event(self) -> Any: ...
    @property
    def recipient(self) -> str: ...
    @property
    def state(self) -> Any: ...
    @property
    def attempts(self) -> int: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def created_wall_ns(self) -> int: ...
    @property
    def delivered_wall_ns(self) -> int | None: ...


class BookmarkFacts(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def camera_id(self) -> str | None: ...
    @property
    def building_id(self) -> str | None: ...
    @property
    def start_wall_ns(self) -> int: ...
    @property
    def end_wall_ns(self) -> int: ...
    @property
    def headline(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def created_by(self) -> str: ...
    @property
    def created_wall_ns(self) -> int: ...
    @property
    def door_event_id(self) -> int | None: ...


@dataclass(frozen=True)
class ReportWindow:
    """The ranges the report covers (wall ns)."""

    hold_start_wall_ns: int  # the look-back before the declaration
    declared_wall_ns: int
    ended_wall_ns: int
    hold_end_wall_ns: int  # the end plus the tail: the video runs to here

    @property
    def video(self) -> tuple[int, int]:
        return self.hold_start_wall_ns, self.hold_end_wall_ns


@dataclass(frozen=True)
class ReportSpec:
    """What to export for an ended incident: the video's cameras and range, and why."""

    incident_id: int
    cameras: tuple[str, ...]
    start_wall_ns: int
    end_wall_ns: int
    reason: str
    case_id: str


def _iso(ns: int | None) -> str | None:
    return None if ns is None else wall_ns_to_iso(ns)


def report_window(incident: IncidentFacts) -> ReportWindow:
    """ValueError for an incident that has not ended (it has no report yet)."""
    if incident.ended_wall_ns is None or incident.hold_end_wall_ns is None:
        raise ValueError(f"incident {incident.id} has not ended: it has no report yet")
    return ReportWindow(incident.hold_start_wall_ns, incident.declared_wall_ns, incident.ended_wall_ns,
                        max(incident.hold_end_wall_ns, incident.ended_wall_ns))


def report_spec(incident: IncidentFacts) -> ReportSpec:
    """The export an ended incident's report is: its report cameras over [hold start, hold end)."""
    window = report_window(incident)
    drill = " (drill)" if incident.drill else ""
    reason = f"incident {incident.id}{drill} report: {incident.reason}"[:MAX_EXPORT_REASON_CHARS]
    start, end = window.video
    return ReportSpec(incident.id, tuple(sorted(set(incident.report_cameras))), start, end, reason,
                      f"incident-{incident.id}")


def manifest_member(incident: IncidentFacts, building_name: str) -> dict[str, Any]:
    """The manifest's `incident` member (signed with the manifest)."""
    return {
        "id": incident.id, "building": incident.building_id, "building_name": building_name,
        "reason": incident.reason, "drill": incident.drill,
        "declared_wall_ns": incident.declared_wall_ns, "declared": _iso(incident.declared_wall_ns),
        "declared_by": incident.declared_by,
        "ended_wall_ns": incident.ended_wall_ns, "ended": _iso(incident.ended_wall_ns), "ended_by": incident.ended_by,
        "note": incident.end_note,
        "documents": list(DOCUMENTS),
    }


def is_video_access(action: str) -> bool:
    return action in VIDEO_ACCESS_ACTIONS or action.startswith(VIDEO_ACCESS_PREFIXES)


def _incident_doc(incident: IncidentFacts, building_name: str, joins: Iterable[JoinFacts],
                  deliveries: Iterable[DeliveryFacts]) -> dict[str, Any]:
    return {
        **manifest_member(incident, building_name),
        "cameras": list(incident.cameras), "whole_building": incident.whole_building,
        "declared_via": incident.declared_via.value,
        "hold_start_wall_ns": incident.hold_start_wall_ns, "hold_start": _iso(incident.hold_start_wall_ns),
        "hold_end_wall_ns": incident.hold_end_wall_ns, "hold_end": _iso(incident.hold_end_wall_ns),
        "link_id": incident.link_id, "report_cameras": list(incident.report_cameras),
        "joins": [{"actor": j.actor, "via": j.via.value, "reason": j.reason, "wall_ns": j.wall_ns,
                   "at": _iso(j.wall_ns)} for j in joins],
        "deliveries": [{"event": d.event.value, "recipient": d.recipient, "state": d.state.value,
                        "attempts": d.attempts, "last_error": d.last_error, "created_wall_ns": d.created_wall_ns,
                        "delivered_wall_ns": d.delivered_wall_ns, "delivered": _iso(d.delivered_wall_ns)}
                       for d in deliveries],
    }


def _door_event(event_id: int, e: NewDoorEvent) -> dict[str, Any]:
    """A stored door event without its raw payload and credential hash (the report leaves the box)."""
    return {"id": event_id, "source": e.source, "event_id": e.event_id, "occurred_wall_ns": e.occurred_wall_ns,
            "occurred": _iso(e.occurred_wall_ns), "received_wall_ns": e.received_wall_ns, "kind": e.kind.value,
            "reason": e.reason, "access_point": e.access_point, "door": e.door_id, "direction": e.direction,
            "building": e.building, "cameras": list(e.cameras), "credential_last4": e.credential_last4,
            "cardholder": e.cardholder, "severity": e.severity, "flag_reasons": list(e.flag_reasons)}


def door_events_in(incident: IncidentFacts, events: Iterable[tuple[int, NewDoorEvent]],
                   ) -> list[tuple[int, NewDoorEvent]]:
    """The events at the incident's building that happened in [hold start, end], by time."""
    window = report_window(incident)
    kept = [(i, e) for i, e in events if e.building == incident.building_id
            and window.hold_start_wall_ns <= e.occurred_wall_ns <= window.ended_wall_ns]
    return sorted(kept, key=lambda item: (item[1].occurred_wall_ns, item[0]))


def bookmarks_in(incident: IncidentFacts, bookmarks: Iterable[BookmarkFacts]) -> list[BookmarkFacts]:
    """Bookmarks of a held camera, or of the whole building, overlapping [hold start, end]."""
    window = report_window(incident)
    held = set(incident.cameras)
    kept = [b for b in bookmarks
            if (b.camera_id in held or (b.camera_id is None and b.building_id == incident.building_id))
            and b.start_wall_ns <= window.ended_wall_ns and b.end_wall_ns >= window.hold_start_wall_ns]
    return sorted(kept, key=lambda b: (b.start_wall_ns, b.id))


def video_access_in(incident: IncidentFacts, entries: Iterable[AuditEntry]) -> list[AuditEntry]:
    """Audit entries of access to video in [declared, end], by anyone, in the chain's order."""
    window = report_window(incident)
    kept = [a for a in entries if is_video_access(a.action)
            and window.declared_wall_ns <= a.wall_ns <= window.ended_wall_ns]
    return sorted(kept, key=lambda a: a.id)


def report_documents(incident: IncidentFacts, building_name: str, joins: Sequence[JoinFacts],
                     deliveries: Sequence[DeliveryFacts], door_events: Iterable[tuple[int, NewDoorEvent]],
                     bookmarks: Iterable[BookmarkFacts], audit: Iterable[AuditEntry], made_wall_ns: int,
                     ) -> dict[str, bytes]:
    """The report's documents (name -> canonical JSON bytes). `door_events`: (local id, record);
    the rows may cover more than the incident: each list keeps what belongs to it."""
    window = report_window(incident)
    about = {"incident": incident.id, "drill": incident.drill, "made_wall_ns": made_wall_ns,
             "made": _iso(made_wall_ns)}
    doors = door_events_in(incident, door_events)
    marks = bookmarks_in(incident, bookmarks)
    access = video_access_in(incident, audit)
    return {
        INCIDENT_DOC: canonical_json({**about, "incident": _incident_doc(incident, building_name, joins, deliveries)}),
        DOOR_EVENTS_DOC: canonical_json({
            **about, "building": incident.building_id, "start_wall_ns": window.hold_start_wall_ns,
            "end_wall_ns": window.ended_wall_ns, "door_events": [_door_event(i, e) for i, e in doors]}),
        BOOKMARKS_DOC: canonical_json({
            **about, "start_wall_ns": window.hold_start_wall_ns, "end_wall_ns": window.ended_wall_ns,
            "bookmarks": [{"id": b.id, "camera": b.camera_id, "building": b.building_id,
                           "start_wall_ns": b.start_wall_ns, "end_wall_ns": b.end_wall_ns,
                           "start": _iso(b.start_wall_ns), "end": _iso(b.end_wall_ns), "headline": b.headline,
                           "description": b.description, "created_by": b.created_by,
                           "created_wall_ns": b.created_wall_ns, "door_event": b.door_event_id} for b in marks]}),
        VIDEO_ACCESS_DOC: canonical_json({
            **about, "start_wall_ns": window.declared_wall_ns, "end_wall_ns": window.ended_wall_ns,
            "accesses": [{"audit_id": a.id, "wall_ns": a.wall_ns, "at": _iso(a.wall_ns), "actor": a.actor,
                          "action": a.action, "target": a.target, "outcome": a.outcome, "detail": a.detail,
                          "hash": a.hash} for a in access]}),
    }


# --- what `vigil verify` says about a report --------------------------------------------------

def member_problems(manifest: Mapping[str, Any]) -> list[str]:
    """A manifest's `incident` member, if any, must be well formed and name listed documents."""
    member = manifest.get(MANIFEST_MEMBER)
    if member is None:
        return []
    if not isinstance(member, dict):
        return ["the manifest's incident member is malformed"]
    problems = []
    if not isinstance(member.get("id"), int) or not isinstance(member.get("drill"), bool):
        problems.append("the manifest's incident member has no id or drill flag")
    files = manifest.get("files")
    listed = {f.get("name") for f in files if isinstance(f, dict)} if isinstance(files, list) else set()
    documents = member.get("documents")
    if not isinstance(documents, list):
        return [*problems, "the manifest's incident member does not name its documents"]
    for name in documents:
        if name not in listed:
            problems.append(f"incident document {name!r} is not a listed file")
    return problems


def summary_lines(manifest: Mapping[str, Any]) -> list[str]:
    """For people: which incident a report is about (nothing for a plain export)."""
    member = manifest.get(MANIFEST_MEMBER)
    if not isinstance(member, dict):
        return []
    drill = "DRILL " if member.get("drill") is True else ""
    building = member.get("building_name") or member.get("building")
    lines = [f"{drill}incident {member.get('id')} at {building} ({member.get('building')}): {member.get('reason')}",
             f"declared {member.get('declared')} by {member.get('declared_by')};"
             f" ended {member.get('ended')} by {member.get('ended_by')}",
             f"note: {member.get('note')}"]
    if member.get("drill") is True:
        lines.append("DRILL: this incident was a drill")
    return lines
