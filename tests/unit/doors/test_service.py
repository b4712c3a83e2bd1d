"""DoorEventService over a real index: dedupe, mapping, flagging, holds, outages, alerts."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vigil.config import Config, parse_config
from vigil.core.door_events import DoorEventKind, IncomingDoorEvent
from vigil.core.errors import StorageError
from vigil.doors.alerts import AlertHub
from vigil.doors.keys import ensure_door_key
from vigil.doors.service import DoorEventService
from vigil.doors.sink import Alert, AlertKind, DoorEventSink
from vigil.store.audit_log import AuditLog
from vigil.store.door_events import DoorStore
from vigil.store.index import Index

S = 1_000_000_000
T0 = 1_800_000_000 * S
CONFIG = """
[storage]
path = "data"
[[buildings]]
id = "hs"
[[cameras]]
id = "hs-east"
building = "hs"
url = "rtsp://127.0.0.1:1/a"
[[cameras]]
id = "hs-hall"
building = "hs"
url = "rtsp://127.0.0.1:1/b"
[[cameras]]
id = "hs-gym"
building = "hs"
url = "rtsp://127.0.0.1:1/c"
[[doors]]
id = "east-main"
building = "hs"
cameras = ["hs-east", "hs-hall"]
pre_s = 10
post_s = 20
access_points = [{ source = "webhook", id = "reader-7", direction = "in" }]
[door_events]
raw_max_bytes = 64
"""


@dataclass
class Clock:
    now_ns: int = T0

    def __call__(self) -> int:
        return self.now_ns


@dataclass
class Rig:
    service: DoorEventService
    store: DoorStore
    index: Index
    alerts: AlertHub
    clock: Clock
    config: Config


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    idx = Index.open(tmp_path / "index.sqlite3", T0)
    yield idx
    idx.close()


@pytest.fixture
def rig(tmp_path: Path, index: Index) -> Rig:
    config = parse_config(CONFIG, tmp_path / "vigil.toml")
    clock, alerts, store = Clock(), AlertHub(queue_alerts=4), DoorStore(index)
    service = DoorEventService(config, store, alerts, ensure_door_key(tmp_path / "keys"), clock)
    return Rig(service, store, index, alerts, clock, config)


def denied(event_id: str, at_s: float = 0, point: str | None = "reader-7", **kw: str) -> IncomingDoorEvent:
    return IncomingDoorEvent("webhook", event_id, T0 + round(at_s * S), DoorEventKind.ACCESS_DENIED, point,
                             reason="expired", **kw)


async def test_service_is_a_door_event_sink(rig: Rig) -> None:
    sink: DoorEventSink = rig.service
    assert await sink.load_cursor("onguard") is None
    await sink.save_cursor("onguard", "2026-11-28T10:00:00Z")
    await sink.save_cursor("onguard", "2026-11-28T11:00:00Z")
    assert await sink.load_cursor("onguard") == "2026-11-28T11:00:00Z"


async def test_denied_badge_at_mapped_door_is_flagged_bookmarked_and_held(rig: Rig) -> None:
    received = T0 + 2 * S
    result = await rig.service.submit(denied("e1", credential="12345678", cardholder="Pat Doe",
                                             raw="12345678 Pat Doe " + "x" * 100), received)
    assert result.flagged and not result.duplicate
    row = rig.store.get(result.id)
    assert (row.door_id, row.building, row.direction, row.cameras) == ("east-main", "hs", "in", ("hs-east", "hs-hall"))
    assert row.skew_ns == 2 * S and row.severity == "medium" and row.flag_reasons == ("access_denied",)
    assert row.credential_last4 == "5678" and row.credential_hash and "12345678" not in row.credential_hash
    assert row.cardholder is None, "cardholder names are stored only when the site opts in"
    assert row.raw == ("[redacted] [redacted] " + "x" * 100)[:64] and row.raw_truncated
    holds = rig.index.query("SELECT camera_id, start_wall_ns, end_wall_ns, door_event_id FROM evidence_holds"
                            " ORDER BY camera_id")
    assert [tuple(h) for h in holds] == [("hs-east", T0 - 10 * S, T0 + 20 * S, result.id),
                                         ("hs-hall", T0 - 10 * S, T0 + 20 * S, result.id)]
    audited = AuditLog(rig.index).entries(action="hold.create")
    assert sorted((e.actor, e.detail["camera"], e.detail["door_event_id"]) for e in audited) == [
        ("door:webhook", "hs-east", result.id), ("door:webhook", "hs-hall", result.id)]
    assert AuditLog(rig.index).verify().ok
    marks = rig.index.query("SELECT camera_id, building_id, headline, door_event_id FROM bookmarks ORDER BY camera_id")
    assert [tuple(m) for m in marks] == [("hs-east", "hs", "access denied at east-main", result.id),
                                         ("hs-hall", "hs", "access denied at east-main", result.id)]
    # the same badge hashes the same way, so the repeat rule can follow it across doors
    again = await rig.service.submit(denied("e2", at_s=1, credential="12345678"), received)
    assert rig.store.get(again.id).credential_hash == row.credential_hash


async def test_replay_returns_the_original_and_changes_nothing(rig: Rig) -> None:
    first = await rig.service.submit(denied("e1"), T0)
    replay = await rig.service.submit(denied("e1", at_s=50, point="other"), T0 + 60 * S)
    assert (replay.id, replay.duplicate, replay.flagged) == (first.id, True, True)
    assert len(rig.store.events()) == 1
    assert len(rig.index.query("SELECT id FROM evidence_holds")) == 2
    assert len(AuditLog(rig.index).entries(action="hold.create")) == 2


async def test_unmapped_and_granted_events_are_kept_without_holds(rig: Rig) -> None:
    unmapped = await rig.service.submit(denied("u1", point="reader-99"), T0)
    granted = await rig.service.submit(IncomingDoorEvent("webhook", "g1", T0, DoorEventKind.ACCESS_GRANTED,
                                                         "reader-7"), T0)
    assert unmapped.flagged and not granted.flagged
    u, g = rig.store.get(unmapped.id), rig.store.get(granted.id)
    assert u.unmapped and u.door_id is None and u.building is None and u.access_point == "reader-99"
    assert not g.unmapped and g.door_id == "east-main"
    assert rig.index.query("SELECT id FROM evidence_holds") == []
    assert [e.id for e in rig.store.events(buildings=["hs"], include_placeless=False)] == [granted.id]
    assert [e.id for e in rig.store.events(buildings=["hs"])] == [unmapped.id, granted.id]
    assert [e.id for e in rig.store.events(flagged=True)] == [unmapped.id]


async def test_outage_is_recorded_and_flagged_after_two_minutes(rig: Rig) -> None:
    await rig.service.source_down("mqtt", "connection refused", T0)
    await rig.service.source_down("mqtt", "still refused", T0 + 5 * S)  # the same outage
    await rig.service.tick(T0 + 120 * S)
    assert not rig.store.events(kind="device_offline")[0].flagged
    await rig.service.tick(T0 + 121 * S)
    await rig.service.tick(T0 + 200 * S)  # once per outage
    (offline,) = rig.store.events(kind="device_offline")
    assert offline.flagged and offline.reason == "connection refused" and "120 s" in offline.flag_reasons[0]
    await rig.service.source_up("mqtt", T0 + 300 * S)
    await rig.service.source_up("mqtt", T0 + 301 * S)
    (online,) = rig.store.events(kind="device_online")
    assert online.occurred_wall_ns == T0 + 300 * S and online.reason == "down for 300.0 s"
    assert rig.store.adapter("mqtt").down_since_wall_ns is None


async def test_alerts_flagged_events_health_and_skew_once(rig: Rig) -> None:
    got: list[Alert] = []

    async def watch() -> None:
        async for alert in rig.alerts.subscribe():
            got.append(alert)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0)
    await rig.service.submit(IncomingDoorEvent("webhook", "g1", T0, DoorEventKind.ACCESS_GRANTED, "reader-7"),
                             T0 + 600 * S)  # 10 minutes late: skew alert, not flagged
    await rig.service.submit(denied("e1"), T0 + 601 * S)  # flagged; skew already alerted for this source
    await rig.service.source_down("webhook", "no requests", T0)
    await asyncio.sleep(0)
    rig.alerts.close()
    await asyncio.wait_for(watcher, 5)
    assert [(a.kind, a.body.get("state") or a.body.get("kind")) for a in got] == [
        (AlertKind.ADAPTER_HEALTH, "clock_skew"), (AlertKind.DOOR_EVENT_FLAGGED, "access_denied"),
        (AlertKind.ADAPTER_HEALTH, "down")]
    assert got[1].body["building"] == "hs" and "credential_hash" not in got[1].body
    assert got[2].body["buildings"] == ["hs"]


async def _drain(feed: AsyncIterator[Alert], n: int) -> list[Alert]:
    return [await anext(feed) for _ in range(n)]


async def test_slow_watcher_loses_oldest_and_is_told() -> None:
    hub = AlertHub(queue_alerts=3)
    feed, other = hub.subscribe(), hub.subscribe()
    for i in range(7):
        hub.publish(Alert(AlertKind.ADAPTER_HEALTH, {"n": i}))
    got = await _drain(feed, 4)
    assert [a.kind for a in got] == [AlertKind.ALERTS_LOST, *[AlertKind.ADAPTER_HEALTH] * 3]
    assert got[0].body == {"lost": 4} and [a.body["n"] for a in got[1:]] == [4, 5, 6]
    with pytest.raises(TimeoutError):  # waiting may be cancelled (a heartbeat) without ending the feed
        await asyncio.wait_for(anext(feed), 0.05)
    hub.publish(Alert(AlertKind.ADAPTER_HEALTH, {"n": 7}))
    assert (await anext(feed)).body == {"n": 7}
    other.close()
    assert hub.subscribers == 1
    hub.close()
    assert [a async for a in feed] == [] and hub.subscribers == 0
    assert [a async for a in hub.subscribe()] == [], "subscribing after close ends at once"


def test_door_key_is_owner_only_and_stable(tmp_path: Path) -> None:
    key = ensure_door_key(tmp_path / "doors")
    path = tmp_path / "doors" / "credential.key"
    assert len(key) == 32 and ensure_door_key(tmp_path / "doors") == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "doors").stat().st_mode) == 0o700
    assert sorted(p.name for p in (tmp_path / "doors").iterdir()) == ["credential.key"], "no temporary file left"
    path.write_bytes(b"short")  # e.g. damaged: refused, never silently replaced (old hashes would stop matching)
    with pytest.raises(StorageError, match="expected 32 bytes"):
        ensure_door_key(tmp_path / "doors")


async def test_concurrent_redeliveries_store_one_event_and_one_set_of_holds(rig: Rig) -> None:
    results = await asyncio.gather(*(rig.service.submit(denied("same"), T0) for _ in range(8)))
    assert len({r.id for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False] + [True] * 7
    assert len(rig.store.events()) == 1
    assert len(rig.index.query("SELECT id FROM evidence_holds")) == 2
    assert len(rig.index.query("SELECT id FROM bookmarks")) == 2


async def test_repeat_denials_are_counted_across_a_restart(rig: Rig) -> None:
    for n in range(2):
        await rig.service.submit(denied(f"before-{n}", at_s=n, credential="777"), T0 + n * S)
    rig.clock.now_ns = T0 + 5 * S
    restarted = DoorEventService(rig.config, rig.store, rig.alerts, rig.service._key, rig.clock)
    assert await restarted.recall_recent(rig.clock.now_ns) == 2
    third = await restarted.submit(denied("after", at_s=5, credential="777"), T0 + 5 * S)
    reasons = rig.store.get(third.id).flag_reasons
    assert any("denials at this door" in r for r in reasons) and any("of this credential" in r for r in reasons)
    # a service that did not recall (the behaviour before) would not have seen the first two
    forgetful = DoorEventService(rig.config, rig.store, rig.alerts, rig.service._key, rig.clock)
    fourth = await forgetful.submit(denied("forgetful", at_s=6, credential="777"), T0 + 6 * S)
    assert not any("denials" in r for r in rig.store.get(fourth.id).flag_reasons)


async def test_a_full_index_does_not_end_an_adapters_outage_report(rig: Rig) -> None:
    """Issue 12 #3, same class: an adapter reporting an outage while the index's disk is full must
    not raise into the adapter's task (which would end the daemon's TaskGroup)."""
    pages = int(rig.index.query("PRAGMA page_count")[0][0])
    rig.index.conn.execute(f"PRAGMA max_page_count = {pages + 4}")  # SQLite's own SQLITE_FULL
    for raw in ("x" * 400, None):  # fill door_events itself, to the last small row: the next needs a new page
        with pytest.raises(StorageError):
            for n in range(100_000):
                with rig.index.transaction() as c:
                    c.execute("INSERT INTO door_events (source, event_id, dedupe_key, occurred_wall_ns,"
                              " received_wall_ns, skew_ns, kind, cameras, severity, flagged, flag_reasons, unmapped,"
                              " raw) VALUES ('fill', ?, ?, 0, 0, 0, 'access_granted', '[]', 'low', 0, '[]', 0, ?)",
                              (f"{raw is None}{n}", f"fill:{raw is None}:{n}", raw))
    await rig.service.source_down("mqtt:broker", "broker gone", T0)  # logged, not raised
    await rig.service.source_up("mqtt:broker", T0 + S)
    rig.index.conn.execute("PRAGMA max_page_count = 1000000")
    await rig.service.source_down("mqtt:broker", "broker gone", T0 + 2 * S)  # recorded once there is room
    assert rig.store.adapter("mqtt:broker").down_since_wall_ns == T0 + 2 * S
