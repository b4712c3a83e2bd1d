"""services/door_events.py over a real index and the real door service: who sees which events,
acknowledging (with its audit entry, or not at all), the webhook's checks, a camera's door events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.service_env import appliance, hs_link, user
from vigil.config import Config
from vigil.core.door_events import DoorEventKind
from vigil.core.errors import BadRequestError, NotFoundError, PermissionDeniedError, UnavailableError
from vigil.core.timebase import parse_time_ns
from vigil.doors.alerts import AlertHub
from vigil.doors.service import DoorEventService
from vigil.services.door_events import (
    DoorEventQuery,
    DoorEventRow,
    ack_door_event,
    camera_door_events_sync,
    door_event_scope,
    list_door_events,
    take_webhook_event,
)
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import AuditLog
from vigil.store.door_events import DoorStore
from vigil.store.index import Index

NOW = parse_time_ns("2026-11-28T12:00:00Z")
DAY = (parse_time_ns("2026-11-28"), parse_time_ns("2026-11-29"))


def event(event_id: str, point: str, kind: str = "access_denied") -> dict[str, Any]:
    return {"source": "lenel", "event_id": event_id, "occurred_at": "2026-11-28T10:00:00Z", "kind": kind,
            "access_point": point, "credential": "00123456"}


@pytest.fixture
def sink(config: Config, index: Index) -> DoorEventService:
    return DoorEventService(config, DoorStore(index), AlertHub(), b"k" * 32, lambda: NOW)


async def take(env: ServiceEnv, sink: DoorEventService, doc: dict[str, Any]) -> int:
    submitted = await take_webhook_event(env, user("district", NOW), sink, doc, json.dumps(doc))
    assert not submitted.duplicate
    return submitted.id


async def listed(env: ServiceEnv, who: str, **query: Any) -> list[str]:
    caller = appliance(NOW) if who == "appliance" else user(who, NOW)
    page = await list_door_events(env, caller, DoorEventQuery(*DAY, **query))
    assert not page.truncated and all(isinstance(e, DoorEventRow) for e in page.events)
    return [e.event_id for e in page.events]


async def test_each_caller_lists_the_events_of_the_buildings_they_see(env: ServiceEnv, sink: DoorEventService
                                                                      ) -> None:
    for name, point, kind in (("h", "r1", "access_denied"), ("m", "r2", "access_granted"), ("u", "r9", "tamper")):
        await take(env, sink, event(name, point, kind))
    assert await listed(env, "appliance") == ["h", "m", "u"]  # the CLI and workers see every event
    assert await listed(env, "district") == ["h", "m", "u"]  # district staff also those at no building
    assert await listed(env, "hs-viewer") == ["h"]
    assert await listed(env, "district", kind=DoorEventKind.ACCESS_GRANTED) == ["m"]
    assert await listed(env, "district", flagged=True) == ["h", "u"]
    assert await listed(env, "district", door="ms-front") == ["m"]
    with pytest.raises(PermissionDeniedError):
        await listed(env, "hs-viewer", door="ms-front")
    (denial,) = AuditLog(env.index).entries(action="view_door_events")
    assert (denial.actor, denial.target, denial.outcome) == ("user:hs-viewer", "building:ms", "denied")
    assert denial.detail["via"] == "token" and denial.detail["remote"] == "192.0.2.7"
    with pytest.raises(NotFoundError):
        await listed(env, "district", door="nope")
    with pytest.raises(BadRequestError):
        await list_door_events(env, user("district", NOW), DoorEventQuery(DAY[1], DAY[0]))
    scope = door_event_scope(env.config, user("hs-admin", NOW))
    assert (scope.buildings, scope.placeless) == (("hs",), False)
    assert scope.shows(["hs", "ms"]) and not scope.shows(["ms"]) and not scope.shows(None)


async def test_ack_and_its_audit_entry_are_one_change(env: ServiceEnv, sink: DoorEventService) -> None:
    hs_id, un_id = await take(env, sink, event("h", "r1")), await take(env, sink, event("u", "r9"))
    audit = AuditLog(env.index)
    with pytest.raises(PermissionDeniedError):  # an event at no building: district admins only
        await ack_door_event(env, user("hs-admin", NOW), un_id)
    (denied,) = audit.entries(action="ack_door_events")
    assert (denied.target, denied.outcome, denied.detail["reason"]) == (f"door_event:{un_id}", "denied", "no building")
    with pytest.raises(NotFoundError):
        await ack_door_event(env, user("district", NOW), 12345)
    # The audit write fails: the acknowledgement is not kept either.
    with env.index.transaction() as c:
        c.execute("CREATE TRIGGER refuse BEFORE INSERT ON audit WHEN NEW.action = 'door_event.ack'"
                  " BEGIN SELECT RAISE(ABORT, 'audit write failed'); END")
    with pytest.raises(Exception, match="audit write failed"):
        await ack_door_event(env, user("hs-admin", NOW), hs_id)
    assert DoorStore(env.index).get(hs_id).acked_by is None and audit.entries(action="door_event.ack") == []
    with env.index.transaction() as c:
        c.execute("DROP TRIGGER refuse")
    row = await ack_door_event(env, user("hs-admin", NOW), hs_id)
    assert isinstance(row, DoorEventRow) and (row.acked_by, row.acked_wall_ns) == ("user:hs-admin", NOW)
    again = await ack_door_event(env, user("district", NOW + 1), hs_id)
    assert (again.acked_by, again.acked_wall_ns) == ("user:hs-admin", NOW), "the first ack stays"
    entries = audit.entries(action="door_event.ack")
    assert [(e.actor, e.outcome) for e in entries] == [("user:hs-admin", "ok"), ("user:district", "already")]
    assert entries[0].detail == {"door": "hs-front", "kind": "access_denied", "acked_by": "user:hs-admin",
                                 "via": "token", "remote": "192.0.2.7"}


async def test_the_webhook_hands_events_to_the_door_service(env: ServiceEnv, sink: DoorEventService) -> None:
    caller = user("district", NOW)
    doc = event("w", "r1")
    first = await take_webhook_event(env, caller, sink, doc, json.dumps(doc))
    replay = await take_webhook_event(env, caller, sink, doc, json.dumps(doc))
    assert (first.duplicate, first.flagged, replay.duplicate, replay.id) == (False, True, True, first.id)
    raw = DoorStore(env.index).get(first.id).raw  # the body is the raw payload (its badge number scrubbed)
    assert raw is not None and json.loads(raw)["event_id"] == "w" and "00123456" not in raw
    with pytest.raises(BadRequestError, match="'source' 'mqtt'"):  # one of this appliance's adapters
        await take_webhook_event(env, caller, sink, {**doc, "source": "mqtt"}, "{}")
    with pytest.raises(UnavailableError):
        await take_webhook_event(env, caller, None, doc, "{}")


async def test_a_cameras_door_events_only_for_who_may_see_them(env: ServiceEnv, sink: DoorEventService) -> None:
    await take(env, sink, event("h", "r1"))
    await take(env, sink, event("m", "r2"))

    def on_hs(caller: Any) -> list[str]:
        return [e.event_id for e in camera_door_events_sync(env, caller, "hs-cam", "hs", *DAY)]

    assert on_hs(user("hs-viewer", NOW)) == on_hs(appliance(NOW)) == ["h"]
    assert on_hs(hs_link(NOW)) == [], "links see footage, not badges"
