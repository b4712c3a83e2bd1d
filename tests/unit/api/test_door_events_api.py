"""Door events through the in-process API: who sees which events, acknowledging, the alert stream.
(The webhook's signatures and limits are tested against the running daemon in tests/e2e/test_doors_live.py.)"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from tests.support.api_harness import CONFIG, DOORS, PASSWORD, Api
from vigil.config import Config, parse_config
from vigil.core.timebase import parse_time_ns, wall_ns_to_iso


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config(CONFIG.format(path=tmp_path / "data") + DOORS, tmp_path / "vigil.toml")


@pytest.fixture(autouse=True)
def _on_the_events_day(api: Api) -> None:
    """The appliance's clock on the day of the events below ([door_events] refuses events dated too
    far from it)."""
    api.clock.now_ns = parse_time_ns("2026-11-28T12:00:00Z")


def event(event_id: str, point: str, kind: str = "access_denied", at: str = "2026-11-28T10:00:00Z"
          ) -> dict[str, Any]:
    return {"source": "lenel", "event_id": event_id, "occurred_at": at, "kind": kind,
            "access_point": point, "credential": "00123456"}


async def post(api: Api, body: dict[str, Any]) -> ClientResponse:
    return await api.client.post("/api/door-events", json=body, headers=api.auth("door-system"))


async def listed(api: Api, who: str, query: str = "") -> list[dict[str, Any]]:
    response = await api.client.get(f"/api/door-events?start=2026-11-28&end=2026-11-29{query}",
                                    headers=api.auth(who))
    assert response.status == 200, await response.text()
    return list((await response.json())["events"])


async def test_each_caller_sees_their_buildings_and_district_sees_unmapped(api: Api) -> None:
    ids = {}
    for name, point, kind in (("h", "r1", "access_denied"), ("m", "r2", "access_granted"), ("u", "r9", "tamper")):
        response = await post(api, event(name, point, kind))
        assert response.status == 201, await response.text()
        ids[name] = (await response.json())["id"]
    assert [e["event_id"] for e in await listed(api, "district")] == ["h", "m", "u"]
    hs = await listed(api, "hs-viewer")
    assert [e["event_id"] for e in hs] == ["h"]
    assert hs[0]["credential_last4"] == "3456" and "credential_hash" not in hs[0] and "00123456" not in str(hs)
    assert hs[0]["door"] == "hs-front" and hs[0]["flagged"] and hs[0]["cameras"] == ["hs-cam"]
    assert [e["event_id"] for e in await listed(api, "district", "&flagged=true")] == ["h", "u"]
    assert [e["event_id"] for e in await listed(api, "district", "&kind=access_granted")] == ["m"]
    assert [e["event_id"] for e in await listed(api, "district", "&door=ms-front")] == ["m"]
    other = await api.client.get("/api/door-events?door=ms-front", headers=api.auth("hs-viewer"))
    assert other.status == 403
    for query, status in (("?door=nope", 404), ("?kind=loitering", 400), ("?flagged=maybe", 400),
                          ("?start=2026-11-29&end=2026-11-28", 400)):
        response = await api.client.get(f"/api/door-events{query}", headers=api.auth("district"))
        assert response.status == status, query
    for who in ("installer", "door-system"):
        assert (await api.client.get("/api/door-events", headers=api.auth(who))).status == 403


async def test_ack_is_kept_audited_and_checked_per_building(api: Api) -> None:
    hs_id = (await (await post(api, event("h", "r1"))).json())["id"]
    ms_id = (await (await post(api, event("m", "r2"))).json())["id"]
    un_id = (await (await post(api, event("u", "r9"))).json())["id"]
    assert (await api.client.post(f"/api/door-events/{hs_id}/ack", headers=api.auth("hs-viewer"))).status == 403
    assert (await api.client.post(f"/api/door-events/{ms_id}/ack", headers=api.auth("hs-admin"))).status == 403
    assert (await api.client.post(f"/api/door-events/{un_id}/ack", headers=api.auth("hs-admin"))).status == 403
    assert (await api.client.post("/api/door-events/12345/ack", headers=api.auth("district"))).status == 404
    assert (await api.client.post("/api/door-events/x/ack", headers=api.auth("district"))).status == 400
    api.clock.now_ns += 5_000_000_000
    acked = await api.client.post(f"/api/door-events/{hs_id}/ack", headers=api.auth("hs-admin"))
    assert acked.status == 200
    body = await acked.json()
    assert body["acked_by"] == "user:hs-admin" and body["acked_at"] is not None
    again = await (await api.client.post(f"/api/door-events/{hs_id}/ack", headers=api.auth("district"))).json()
    assert again["acked_by"] == "user:hs-admin" and again["acked_at"] == body["acked_at"], "the first ack stays"
    entries = [(e.actor, e.action, e.target, e.outcome)
               for e in api.services.env.audit.entries(action="door_event.ack")]
    assert entries == [("user:hs-admin", "door_event.ack", f"door_event:{hs_id}", "ok"),
                       ("user:district", "door_event.ack", f"door_event:{hs_id}", "already")]
    denied = api.services.env.audit.entries(actor="user:hs-admin", action="ack_door_events")
    assert [e.outcome for e in denied] == ["denied", "denied"]


async def test_an_ack_whose_audit_entry_fails_is_not_kept(api: Api) -> None:
    """Issue 13: the acknowledgement and its audit entry commit together. The audit write is made to
    fail (a trigger refusing it, as a crash between the two writes would lose it): the event stays
    unacknowledged, so the log never misses an ack that happened."""
    hs_id = (await (await post(api, event("h", "r1"))).json())["id"]
    with api.services.env.index.transaction() as c:
        c.execute("CREATE TRIGGER refuse_ack_audit BEFORE INSERT ON audit WHEN NEW.action = 'door_event.ack'"
                  " BEGIN SELECT RAISE(ABORT, 'audit write failed'); END")
    failed = await api.client.post(f"/api/door-events/{hs_id}/ack", headers=api.auth("hs-admin"))
    assert failed.status == 500
    (row,) = api.services.env.index.query("SELECT acked_by, acked_wall_ns FROM door_events WHERE id = ?", (hs_id,))
    assert (row["acked_by"], row["acked_wall_ns"]) == (None, None)
    assert api.services.env.audit.entries(action="door_event.ack") == []
    with api.services.env.index.transaction() as c:
        c.execute("DROP TRIGGER refuse_ack_audit")
    acked = await api.client.post(f"/api/door-events/{hs_id}/ack", headers=api.auth("hs-admin"))
    assert acked.status == 200 and (await acked.json())["acked_by"] == "user:hs-admin"
    assert [e.outcome for e in api.services.env.audit.entries(action="door_event.ack")] == ["ok"]


async def test_ack_from_a_browser_session_needs_the_csrf_token(api: Api) -> None:
    hs_id = (await (await post(api, event("h", "r1"))).json())["id"]
    login = await api.client.post("/api/login", json={"name": "hs-admin", "password": PASSWORD})
    csrf = (await login.json())["csrf_token"]
    no_csrf = await api.client.post(f"/api/door-events/{hs_id}/ack")
    assert no_csrf.status == 403 and "CSRF" in (await no_csrf.json())["detail"]
    ok = await api.client.post(f"/api/door-events/{hs_id}/ack", headers={"X-CSRF-Token": csrf})
    assert ok.status == 200 and (await ok.json())["acked_by"] == "user:hs-admin"


async def _next_event(response: ClientResponse) -> dict[str, Any]:
    kind = None
    while True:
        line = (await asyncio.wait_for(response.content.readline(), 10)).decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[len("event: "):]
        elif line.startswith("data: "):
            data = json.loads(line[len("data: "):])
            assert data["alert"] == kind
            return dict(data)


async def test_alert_stream_is_filtered_to_the_callers_buildings(api: Api) -> None:
    hs = await api.client.get("/api/alerts", headers=api.auth("hs-viewer"))
    district = await api.client.get("/api/alerts", headers=api.auth("district"))
    assert hs.status == 200 and hs.headers["Content-Type"] == "text/event-stream"
    assert (await hs.content.readline()) == b": connected\n"
    assert (await district.content.readline()) == b": connected\n"
    assert api.services.alerts is not None and api.services.alerts.subscribers == 2
    now = wall_ns_to_iso(api.clock.now_ns)  # current events: no clock-skew alert
    for name, point, kind in (("m", "r2", "access_denied"), ("g", "r1", "access_granted"), ("u", "r9", "tamper"),
                              ("h", "r1", "access_denied")):
        assert (await post(api, event(name, point, kind, now))).status == 201
    seen_by_hs = await _next_event(hs)
    assert (seen_by_hs["alert"], seen_by_hs["kind"], seen_by_hs["event_id"], seen_by_hs["building"]) == (
        "door_event_flagged", "access_denied", "h", "hs")
    assert [(await _next_event(district))["event_id"] for _ in range(3)] == ["m", "u", "h"]
    api.services.alerts.close()  # as at shutdown: the streams end cleanly
    assert (await asyncio.wait_for(hs.content.read(), 10)).strip() == b""
    assert (await asyncio.wait_for(district.content.read(), 10)).strip() == b""
    assert api.services.alerts.subscribers == 0


async def test_door_events_on_the_cameras_timeline(api: Api) -> None:
    for body in (event("h", "r1"), event("g", "r1", "access_granted"), event("m", "r2"), event("u", "r9")):
        assert (await post(api, body)).status == 201
    span = "?start=2026-11-28T09:00:00Z&end=2026-11-28T11:00:00Z"
    response = await api.client.get(f"/api/cameras/hs-cam/timeline{span}", headers=api.auth("hs-viewer"))
    assert response.status == 200, await response.text()
    on_hs = (await response.json())["door_events"]
    assert [(e["event_id"], e["flagged"], e["door"]) for e in on_hs] == [("h", True, "hs-front"),
                                                                        ("g", False, "hs-front")]
    on_ms = await (await api.client.get(f"/api/cameras/ms-cam/timeline{span}", headers=api.auth("district"))).json()
    assert [e["event_id"] for e in on_ms["door_events"]] == ["m"]
    link = await api.client.post("/api/links", headers=api.auth("district"), json={
        "buildings": ["hs"], "reason": "responders", "live": True, "playback": True})
    token = str((await link.json())["url"]).rsplit("/", 1)[1]
    by_link = await api.client.get(f"/api/cameras/hs-cam/timeline{span}", headers={"Authorization": f"Bearer {token}"})
    assert by_link.status == 200 and (await by_link.json())["door_events"] == [], "links see footage, not badges"


async def test_webhook_may_not_post_as_one_of_the_appliances_adapters(api: Api) -> None:
    response = await post(api, {**event("x", "r1"), "source": "mqtt"})  # the MQTT adapter's source
    assert response.status == 400 and "'source' 'mqtt'" in (await response.json())["detail"]
    assert await listed(api, "district") == []


async def test_badge_numbers_in_the_reason_are_never_stored_nor_served(api: Api) -> None:
    """Issue 12 #8: vendor text in `reason` naming the event's badge (written as sent, without its
    leading zeros, with a separator) or another card number is scrubbed before it is stored, and from
    the listing, the alert stream and the bookmark/hold text."""
    watcher = await api.client.get("/api/alerts", headers=api.auth("district"))
    assert (await watcher.content.readline()) == b": connected\n"
    reason = "Invalid Badge 00123456 (123456, 12-3456) after card 98765432; cardholder Pat Doe"
    body = event("b1", "r1") | {"reason": reason, "cardholder": "Pat Doe", "occurred_at": "2026-11-28T11:59:00Z",
                                "raw": {"vendor_text": reason, "badge_id": 123456}}
    assert (await post(api, body)).status == 201
    secrets = ("00123456", "123456", "12-3456", "98765432", "Pat Doe")
    alert = await asyncio.wait_for(_next_event(watcher), 10)
    (listed_event,) = [e for e in await listed(api, "district") if e["event_id"] == "b1"]
    (row,) = api.services.env.index.query("SELECT reason, raw FROM door_events WHERE event_id = 'b1'")
    for shown in (alert["reason"], listed_event["reason"], row["reason"]):
        assert shown == ("Invalid Badge [redacted] ([redacted], [redacted]) after card [redacted];"
                         " cardholder [redacted]")
    for text in (json.dumps(alert), json.dumps(listed_event), row["raw"]):
        assert not any(s in text for s in secrets), text
    assert listed_event["credential_last4"] == "3456"


async def test_reasons_stored_before_the_fix_are_scrubbed_when_served(api: Api) -> None:
    assert (await post(api, event("old", "r1"))).status == 201
    with api.services.env.index.transaction() as c:  # as a row stored by an earlier version
        c.execute("UPDATE door_events SET reason = 'Badge 55512345 expired' WHERE event_id = 'old'")
    (shown,) = await listed(api, "district")
    assert shown["reason"] == "Badge [redacted] expired"


@pytest.mark.parametrize(("at", "words"), [
    ("2026-11-28T12:10:00Z", "ahead of the appliance's clock"),  # 10 min ahead (5 min allowed)
    ("2099-01-01T00:00:00Z", "ahead of the appliance's clock"),
    ("2026-11-20T11:00:00Z", "before the appliance's clock"),  # 8 days back (7 allowed)
    ("1970-01-01T00:00:00Z", "before the appliance's clock"),
    ("2262-04-12T00:00:00Z", "out of range"),  # past SQLite's int64 nanoseconds
    ("9999-12-31T23:59:59+00:00", "out of range"),
])
async def test_events_dated_outside_the_window_are_refused_and_hold_nothing(api: Api, at: str, words: str) -> None:
    """Issue 12 #9: a far-future (or far-past) device time would place a hold that outlives reason."""
    response = await post(api, event("far", "r1") | {"occurred_at": at})
    assert response.status == 400 and response.content_type == "application/problem+json"
    assert words in (await response.json())["detail"]
    assert api.services.env.index.query("SELECT count(*) AS n FROM door_events")[0]["n"] == 0
    assert api.services.env.index.query("SELECT count(*) AS n FROM evidence_holds")[0]["n"] == 0
    near = await post(api, event("near", "r1") | {"occurred_at": "2026-11-28T12:04:00Z"})  # inside the window
    assert near.status == 201 and (await near.json())["flagged"]
