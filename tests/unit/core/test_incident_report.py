"""core/incident_report.py: what an ended incident's report holds, from rows and times given."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pytest

from vigil.core.audit_chain import AuditEntry
from vigil.core.door_events import DoorEventKind
from vigil.core.door_record import NewDoorEvent
from vigil.core.evidence_manifest import canonical_json
from vigil.core.incident_report import (
    BOOKMARKS_DOC,
    DOCUMENTS,
    DOOR_EVENTS_DOC,
    INCIDENT_DOC,
    VIDEO_ACCESS_DOC,
    is_video_access,
    manifest_member,
    member_problems,
    report_documents,
    report_spec,
    summary_lines,
)
from vigil.core.incidents import DeclaredVia, DeliveryEvent, DeliveryState

S = 1_000_000_000
T = 1_790_000_000 * S  # declared
END = T + 120 * S


@dataclass(frozen=True)
class Incident:
    id: int = 4
    building_id: str = "hs"
    cameras: tuple[str, ...] = ("hs-a", "hs-b")
    whole_building: bool = True
    reason: str = "lockdown"
    drill: bool = False
    declared_by: str = "user:hs-admin"
    declared_via: DeclaredVia = DeclaredVia.API
    declared_wall_ns: int = T
    hold_start_wall_ns: int = T - 600 * S
    link_id: int | None = 9
    ended_wall_ns: int | None = END
    ended_by: str | None = "user:district"
    end_note: str | None = "all clear"
    hold_end_wall_ns: int | None = END + 300 * S
    report_cameras: tuple[str, ...] = ("hs-b",)


@dataclass(frozen=True)
class Join:
    actor: str
    via: DeclaredVia
    reason: str
    wall_ns: int


@dataclass(frozen=True)
class Delivery:
    event: DeliveryEvent
    recipient: str
    state: DeliveryState
    attempts: int
    last_error: str | None
    created_wall_ns: int
    delivered_wall_ns: int | None


@dataclass(frozen=True)
class Bookmark:
    id: int
    camera_id: str | None
    building_id: str | None
    start_wall_ns: int
    end_wall_ns: int
    headline: str = "b"
    description: str = ""
    created_by: str = "user:hs-admin"
    created_wall_ns: int = T
    door_event_id: int | None = None


def door(at_ns: int, building: str | None = "hs", kind: DoorEventKind = DoorEventKind.DOOR_FORCED_OPEN,
         ) -> NewDoorEvent:
    return NewDoorEvent("lenel", f"e{at_ns}", f"k{at_ns}", at_ns, at_ns, kind, None, "ap1", "front", "in", building,
                        ("hs-a",), "h" * 64, "1234", "Pat", "high", ("forced",), False, '{"secret":"x"}', False)


def entry(i: int, at_ns: int, action: str, actor: str = "link:9") -> AuditEntry:
    return AuditEntry(i, at_ns, actor, action, "camera:hs-a", "ok", {"n": i}, "p", f"h{i}")


def docs(incident: Incident = Incident()) -> dict[str, dict[str, object]]:
    doors = [(1, door(T - 700 * S)), (2, door(T - 600 * S)), (3, door(T + 5 * S, kind=DoorEventKind.DURESS)),
             (4, door(END)), (5, door(END + 1)), (6, door(T, building="ms")), (7, door(T, building=None))]
    marks = [Bookmark(1, "hs-a", "hs", T, T + S), Bookmark(2, None, "hs", T - 900 * S, T - 599 * S),
             Bookmark(3, "ms-a", "ms", T, T + S), Bookmark(4, None, "ms", T, T + S),
             Bookmark(5, "hs-b", "hs", END + S, END + 2 * S), Bookmark(6, "hs-a", "hs", T - 900 * S, T - 601 * S)]
    audit = [entry(1, T - S, "live.view"), entry(2, T, "link.open"), entry(3, T + S, "playback.clip", "user:x"),
             entry(4, T + 2 * S, "link.use GET /api/cameras/{camera_id}/clip.mp4"), entry(5, T + 3 * S, "hold.create"),
             entry(6, T + 4 * S, "export.download"), entry(7, END, "live.snapshot"), entry(8, END + 1, "live.view")]
    joins = [Join("mqtt:panic", DeclaredVia.MQTT, "panic button", T + S)]
    deliveries = [Delivery(DeliveryEvent.DECLARED, "webhook:dispatch", DeliveryState.FAILED, 12, "refused", T, None)]
    out = report_documents(incident, "High School", joins, deliveries, doors, marks, audit, END + 400 * S)
    assert sorted(out) == sorted(DOCUMENTS)
    for data in out.values():
        assert canonical_json(json.loads(data)) == data  # canonical, so stable bytes for the same rows
    return {name: json.loads(data) for name, data in out.items()}


def test_door_events_are_the_buildings_in_hold_start_to_end_without_raw_or_hash() -> None:
    d = docs()[DOOR_EVENTS_DOC]
    events = d["door_events"]
    assert isinstance(events, list)
    assert [e["id"] for e in events] == [2, 3, 4]
    assert events[1]["kind"] == "duress" and events[1]["credential_last4"] == "1234"
    assert all("raw" not in e and "credential_hash" not in e for e in events)
    assert (d["start_wall_ns"], d["end_wall_ns"]) == (T - 600 * S, END)


def test_bookmarks_of_held_cameras_or_the_building_overlapping_the_range() -> None:
    marks = docs()[BOOKMARKS_DOC]["bookmarks"]
    assert isinstance(marks, list)
    assert [b["id"] for b in marks] == [2, 1]  # by start; ms ones, later ones and earlier ones left out


def test_video_access_in_declared_to_end_by_anyone() -> None:
    accesses = docs()[VIDEO_ACCESS_DOC]["accesses"]
    assert isinstance(accesses, list)
    assert [a["audit_id"] for a in accesses] == [2, 3, 4, 6, 7]
    assert accesses[0]["action"] == "link.open" and accesses[0]["hash"] == "h2"
    assert is_video_access("playback.thumbnail") and not is_video_access("hold.create")
    assert not is_video_access("link.create") and is_video_access("link.use GET /api/cameras")


def test_incident_document_has_joins_and_deliveries_and_the_manifest_member() -> None:
    d = docs()[INCIDENT_DOC]
    incident = d["incident"]
    assert isinstance(incident, dict)
    assert incident["joins"] == [{"actor": "mqtt:panic", "via": "mqtt", "reason": "panic button",
                                  "wall_ns": T + S, "at": "2026-09-21T14:13:21.000Z"}]
    assert incident["deliveries"][0]["state"] == "failed" and incident["report_cameras"] == ["hs-b"]
    member = manifest_member(Incident(), "High School")
    assert {k: member[k] for k in ("id", "building", "building_name", "reason", "drill", "declared_by", "ended_by",
                                   "note")} == {"id": 4, "building": "hs", "building_name": "High School",
                                                "reason": "lockdown", "drill": False, "declared_by": "user:hs-admin",
                                                "ended_by": "user:district", "note": "all clear"}
    assert member["declared_wall_ns"] == T and member["ended_wall_ns"] == END and member["documents"] == list(DOCUMENTS)


def test_the_report_video_is_its_cameras_over_the_hold_and_a_drill_says_so() -> None:
    spec = report_spec(Incident(drill=True))
    assert (spec.cameras, spec.start_wall_ns, spec.end_wall_ns) == (("hs-b",), T - 600 * S, END + 300 * S)
    assert spec.reason == "incident 4 (drill) report: lockdown" and spec.case_id == "incident-4"
    assert docs(Incident(drill=True))[INCIDENT_DOC]["drill"] is True
    with pytest.raises(ValueError, match="not ended"):
        report_spec(Incident(ended_wall_ns=None, hold_end_wall_ns=None))


def test_verify_names_the_incident_and_wants_its_documents_listed() -> None:
    member = manifest_member(Incident(drill=True), "High School")
    files = [{"name": n, "size_bytes": 1, "sha256": "0" * 64} for n in DOCUMENTS]
    assert member_problems({"incident": member, "files": files}) == []
    assert member_problems({"incident": member, "files": files[1:]}) == [
        f"incident document {INCIDENT_DOC!r} is not a listed file"]
    assert member_problems({"incident": "x", "files": files}) == ["the manifest's incident member is malformed"]
    assert member_problems({"files": []}) == [] and summary_lines({"files": []}) == []
    lines = summary_lines({"incident": member})
    assert lines[0].startswith("DRILL incident 4 at High School (hs): lockdown") and lines[-1].startswith("DRILL")
    plain = summary_lines({"incident": manifest_member(dataclasses.replace(Incident(), drill=False), "HS")})
    assert not any("DRILL" in line for line in plain) and "note: all clear" in plain
