"""The MQTT adapter against a real mosquitto broker on loopback, with mosquitto_pub/mosquitto_sub as the
other systems. The sink is an in-memory implementation of vigil's own seam."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.door_sink import MemoryFeed, MemorySink, eventually
from tests.support.mosquitto import Broker
from vigil.api.tls import ensure_self_signed
from vigil.config import MqttConfig
from vigil.core.backoff import BackoffPolicy
from vigil.core.door_events import DoorEventKind, IncomingDoorEvent
from vigil.doors.mqtt.adapter import MqttAdapter
from vigil.doors.sink import Alert, AlertKind, Submitted

IN_TOPIC = "site/doors/events"
FAST = BackoffPolicy(first_delay_s=0.2, max_delay_s=1.0)


def event(event_id: str, kind: str = "access_denied", **extra: object) -> str:
    doc = {"schema": "door-event/v1", "event_id": event_id, "occurred_at": "2026-11-28T18:00:00Z", "kind": kind,
           "access_point": "reader-7", "credential": "0012345678", **extra}
    return json.dumps(doc)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path).start()
    yield b
    b.stop()


@contextlib.asynccontextmanager
async def running(adapter: MqttAdapter) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(adapter.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def adapter_for(broker: Broker, sink: MemorySink, feed: MemoryFeed | None = None, **kw: object) -> MqttAdapter:
    settings: dict[str, object] = {"host": "127.0.0.1", "port": broker.port, "client_id": "vigil-test",
                                   "topic": IN_TOPIC, "out_prefix": "vigil"}
    config = MqttConfig(**(settings | kw))  # type: ignore[arg-type]
    return MqttAdapter(config, sink, feed, backoff=FAST)


async def pub(broker: Broker, payload: str | bytes) -> None:
    await asyncio.to_thread(broker.pub, IN_TOPIC, payload)


async def test_events_in_malformed_counted_once_logged(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    sink = MemorySink()
    adapter = adapter_for(broker, sink)
    async with running(adapter):
        await asyncio.wait_for(adapter.connected.wait(), 20)
        await pub(broker, event("e-1"))
        await pub(broker, b"\xff\xfe not utf-8")
        await pub(broker, "{not json")
        await pub(broker, "{still not json")
        await pub(broker, event("e-bad", kind="teleported"))
        await pub(broker, event("e-2", kind="door_forced_open", source="mqtt"))
        await pub(broker, event("e-other-source", source="webhook"))
        await pub(broker, event("e-1"))  # a redelivery: the sink de-duplicates
        await eventually(lambda: sink.submissions == 3, 20, "three well-formed events")
    assert sink.ids() == {"e-1", "e-2"}
    assert sink.events["mqtt\x1fe-2"].kind is DoorEventKind.DOOR_FORCED_OPEN
    assert sink.events["mqtt\x1fe-1"].credential == "0012345678"
    assert adapter.malformed == {"not_utf8": 1, "not_json": 2, "invalid:kind": 1, "invalid:source": 1}
    warnings = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warnings) == 4  # one per kind, not per message
    assert "0012345678" not in caplog.text


async def test_flagged_events_and_health_go_out_with_status_and_will(broker: Broker) -> None:
    sink, feed = MemorySink(), MemoryFeed()
    adapter = adapter_for(broker, sink, feed)
    flagged_sub = await asyncio.to_thread(lambda: broker.subscriber("vigil/flagged").ready())
    try:
        async with running(adapter):
            await asyncio.wait_for(adapter.connected.wait(), 20)
            feed.push(Alert(AlertKind.DOOR_EVENT_FLAGGED, {"id": 7, "kind": "access_denied", "door": "east-main"}))
            feed.push(Alert(AlertKind.ADAPTER_HEALTH, {"source": "onguard", "state": "down", "reason": "HTTP 503"}))
            await eventually(lambda: bool(flagged_sub.received("vigil/flagged")), 20, "the flagged event")
            await eventually(lambda: not adapter._alerts, 20, "the health alert to go out")
            # Retained: a subscriber that comes later still gets the health and the status.
            late = await asyncio.to_thread(lambda: broker.subscriber("vigil/#").ready())
            await eventually(lambda: bool(late.received("vigil/health/onguard")) and
                             bool(late.received("vigil/status")), 20, "retained health and status")
            assert json.loads(late.received("vigil/health/onguard")[0])["state"] == "down"
            assert late.received("vigil/status") == ["online"]
            assert late.received("vigil/flagged") == []  # a stream, not retained
            late.close()
        assert json.loads(flagged_sub.received("vigil/flagged")[0]) == {"door": "east-main", "id": 7,
                                                                        "kind": "access_denied"}
        # A clean stop says "offline" itself (the will covers a crash: see the daemon test).
        after = await asyncio.to_thread(lambda: broker.subscriber("vigil/status").ready())
        await eventually(lambda: after.received("vigil/status") == ["offline"], 20, "status offline")
        after.close()
    finally:
        flagged_sub.close()


async def test_broker_killed_and_restarted_outage_recorded_and_persistent_session(broker: Broker) -> None:
    sink = MemorySink()
    adapter = adapter_for(broker, sink)
    async with running(adapter):
        await asyncio.wait_for(adapter.connected.wait(), 20)
        await pub(broker, event("before"))
        await eventually(lambda: "before" in sink.ids(), 20, "the first event")
        broker.kill()
        await eventually(lambda: bool(sink.health) and sink.health[-1][1] == "down", 20, "the outage to be recorded")
        assert "127.0.0.1" in str(sink.health[0][2])
        await asyncio.to_thread(broker.start)
        await eventually(lambda: len(sink.health) == 2, 30, "the reconnect")
        assert [h[1] for h in sink.health] == ["down", "up"]
        await pub(broker, event("after-restart"))
        await eventually(lambda: "after-restart" in sink.ids(), 20, "an event after the restart")

    # vigil is away (adapter stopped); events published meanwhile wait in its persistent session,
    # which also survives a broker that is killed and restarted (autosaved persistence).
    await pub(broker, event("while-away-1"))
    await pub(broker, event("while-away-2", kind="door_held_open"))
    await asyncio.sleep(2.5)  # past mosquitto's 1 s autosave
    broker.kill()
    await asyncio.to_thread(broker.start)
    adapter2 = adapter_for(broker, sink)
    async with running(adapter2):
        await eventually(lambda: {"while-away-1", "while-away-2"} <= sink.ids(), 30, "the queued events")


async def test_username_password_and_wrong_password(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    broker = Broker(tmp_path, passwords={"vigil": "s3cret-broker-pw"}).start()
    try:
        sink = MemorySink()
        bad = adapter_for(broker, sink, username="vigil", password="wrong-pw-123")
        async with running(bad):
            await eventually(lambda: bool(sink.health), 20, "the refused login as an outage")
        assert sink.health[0][1] == "down"
        good_sink = MemorySink()
        good = adapter_for(broker, good_sink, username="vigil", password="s3cret-broker-pw")
        async with running(good):
            await asyncio.wait_for(good.connected.wait(), 20)
            await asyncio.to_thread(broker.pub, IN_TOPIC, event("e-auth"), user=("vigil", "s3cret-broker-pw"))
            await eventually(lambda: "e-auth" in good_sink.ids(), 20, "an event through an authenticated broker")
        assert "s3cret-broker-pw" not in caplog.text and "wrong-pw-123" not in caplog.text
    finally:
        broker.stop()


async def test_tls_verified_against_the_site_ca(tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path / "tls")
    broker = Broker(tmp_path, tls=(cert, key)).start()
    try:
        assert broker.tls_port is not None
        untrusted_sink = MemorySink()
        untrusted = adapter_for(broker, untrusted_sink, port=broker.tls_port, tls=True)  # system trust store
        async with running(untrusted):
            await eventually(lambda: bool(untrusted_sink.health), 20, "the unverifiable broker as an outage")
        assert untrusted_sink.health[0][1] == "down" and not untrusted.connected.is_set()
        assert "certificate" in str(untrusted_sink.health[0][2]).lower(), untrusted_sink.health
        sink = MemorySink()
        trusted = adapter_for(broker, sink, port=broker.tls_port, tls=True, ca_file=cert)
        async with running(trusted):
            await asyncio.wait_for(trusted.connected.wait(), 20)
            await pub(broker, event("e-tls"))
            await eventually(lambda: "e-tls" in sink.ids(), 20, "an event over TLS")
    finally:
        broker.stop()


async def test_an_older_subscription_of_the_session_is_ignored(broker: Broker) -> None:
    sink = MemorySink()
    async with running(old := adapter_for(broker, sink)):
        await asyncio.wait_for(old.connected.wait(), 20)
    # Same client id, new topic: the broker still holds the old subscription in the session.
    config = MqttConfig(host="127.0.0.1", port=broker.port, client_id="vigil-test", topic="site/doors/new")
    new = MqttAdapter(config, sink, backoff=FAST)
    async with running(new):
        await asyncio.wait_for(new.connected.wait(), 20)
        await pub(broker, event("on-the-old-topic"))
        await asyncio.to_thread(broker.pub, "site/doors/new", event("on-the-new-topic"))
        await eventually(lambda: "on-the-new-topic" in sink.ids(), 20, "the event on the new topic")
        await asyncio.sleep(0.5)
    assert sink.ids() == {"on-the-new-topic"} and not new.malformed


async def test_alerts_raised_while_the_broker_is_down_go_out_after_the_reconnect(broker: Broker) -> None:
    sink, feed = MemorySink(), MemoryFeed()
    adapter = adapter_for(broker, sink, feed)
    # A persistent QoS 1 watcher: it reconnects by itself and its session survives the broker restart.
    watcher = await asyncio.to_thread(lambda: broker.subscriber("vigil/#", session="watcher").ready())
    try:
        async with running(adapter):
            await asyncio.wait_for(adapter.connected.wait(), 20)
            broker.stop()  # a clean stop saves the watcher's session (a killed broker: the test above)
            await eventually(lambda: bool(sink.health), 20, "the outage")
            feed.push(Alert(AlertKind.DOOR_EVENT_FLAGGED, {"id": 1, "kind": "door_forced_open"}))
            feed.push(Alert(AlertKind.ADAPTER_HEALTH, {"source": "mqtt", "state": "down"}))
            feed.push(Alert(AlertKind.ALERTS_LOST, {"lost": 3}))  # meant for this watcher only: not published
            await asyncio.sleep(0.3)
            assert len(adapter._alerts) == 3  # waiting for the broker
            await asyncio.to_thread(broker.start)
            await eventually(lambda: bool(watcher.received("vigil/flagged")), 60, "the queued flagged event")
            await eventually(lambda: bool(watcher.received("vigil/health/mqtt")), 60, "the queued health alert")
            assert not adapter._alerts and adapter.alerts_dropped == 0
        assert json.loads(watcher.received("vigil/flagged")[0]) == {"id": 1, "kind": "door_forced_open"}
        assert json.loads(watcher.received("vigil/health/mqtt")[0]) == {"source": "mqtt", "state": "down"}
        assert not [t for t, _ in watcher.lines if t.startswith("vigil/") and t.split("/")[1] not in (
            "status", "flagged", "health")]
    finally:
        watcher.close()


class StallingSink(MemorySink):
    """Takes events but never finishes storing `stall_id`: vigil dying in the middle of a store."""

    def __init__(self, stall_id: str) -> None:
        super().__init__()
        self.stall_id = stall_id
        self.stalled = asyncio.Event()

    async def submit(self, event: IncomingDoorEvent, received_wall_ns: int) -> Submitted:
        if event.event_id == self.stall_id:
            self.stalled.set()
            await asyncio.Event().wait()  # never returns; the adapter is cancelled here
        return await super().submit(event, received_wall_ns)


async def test_a_message_is_acknowledged_only_once_stored(broker: Broker) -> None:
    dying = StallingSink("e-in-flight")
    async with running(first := adapter_for(broker, dying)):
        await asyncio.wait_for(first.connected.wait(), 20)
        await pub(broker, event("e-stored"))
        await pub(broker, event("e-in-flight"))
        await asyncio.wait_for(dying.stalled.wait(), 20)
    assert dying.ids() == {"e-stored"}
    # The same session again: the broker never got a PUBACK for the message being stored, so it
    # delivers it again; the one that was stored (and acknowledged) is not redelivered.
    sink = MemorySink()
    async with running(second := adapter_for(broker, sink)):
        await asyncio.wait_for(second.connected.wait(), 20)
        await eventually(lambda: "e-in-flight" in sink.ids(), 20, "the unacknowledged message again")
        await pub(broker, event("e-after"))
        await eventually(lambda: "e-after" in sink.ids(), 20, "a later message")
    assert sink.ids() == {"e-in-flight", "e-after"}
