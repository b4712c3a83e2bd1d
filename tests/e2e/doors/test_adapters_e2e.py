"""End to end through the running daemon: a denied badge published on MQTT comes back as a flagged
alert on MQTT, and an OnGuard denied event is polled into the door-event store; mosquitto,
mosquitto_pub/sub, Prism and the scenario OpenAccess server are the real peers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.http_call import free_port
from tests.support.mosquitto import Broker
from tests.support.openaccess_sim import APPLICATION_ID, PASSWORD, USER, Prism, ScenarioServer, logged_event
from tests.support.vigil_proc import VigilProcess, index_of, wait_for, write_config
from vigil.core.door_events import DoorEventKind
from vigil.core.timebase import wall_ns_to_iso
from vigil.store.door_events import DoorEventRow, DoorStore

pytestmark = pytest.mark.slow


def daemon_config(tmp_path: Path, extra: str) -> Path:
    # The camera is never reached: door events and holds do not need its video.
    config = write_config(tmp_path, {"hs-east": f"rtsp://127.0.0.1:{free_port()}/none"})
    text = config.read_text() + f"""
[http]
listen = "127.0.0.1:0"
tls = false

[[doors]]
id = "east-main"
name = "East Main Entrance"
building = "hs"
cameras = ["hs-east"]
access_points = [{{ source = "mqtt", id = "reader-7", direction = "in" }},
                 {{ source = "onguard", id = "1.7", direction = "in" }}]
{extra}
"""
    config.write_text(text)
    return config


def stored(config: Path) -> list[DoorEventRow]:
    index = index_of(config)
    try:
        return DoorStore(index).events()
    finally:
        index.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path).start()
    yield b
    b.stop()


def test_denied_badge_on_mqtt_flagged_back_on_mqtt_and_last_will(tmp_path: Path, broker: Broker) -> None:
    config = daemon_config(tmp_path, f"""
[door_adapters.mqtt]
port = {broker.port}
client_id = "vigil-e2e"
topic = "site/doors/in"
""")
    watcher = broker.subscriber("vigil/#").ready()
    vigil = VigilProcess(config)
    try:
        wait_for(lambda: watcher.received("vigil/status")[-1:] == ["online"], 60, "vigil online on MQTT")
        for event_id, occurred_ns in (("far-future", time.time_ns() + 400 * 86_400 * 10**9),  # dropped, counted
                                      ("badge-1", time.time_ns())):
            broker.pub("site/doors/in", json.dumps({
                "schema": "door-event/v1", "event_id": event_id, "occurred_at": wall_ns_to_iso(occurred_ns),
                "kind": "access_denied", "access_point": "reader-7", "reason": "expired badge 12345678",
                "credential": "0012345678"}))
        wait_for(lambda: bool(watcher.received("vigil/flagged")), 30, "the flagged alert on MQTT")
        alert = json.loads(watcher.received("vigil/flagged")[0])
        assert (alert["door"], alert["kind"], alert["event_id"], alert["flagged"]) == (
            "east-main", "access_denied", "badge-1", True)
        assert alert["credential_last4"] == "5678" and "0012345678" not in watcher.received("vigil/flagged")[0]
        (row,) = [r for r in stored(config) if r.source == "mqtt"]  # the far-future one was refused
        assert row.event_id == "badge-1" and row.flagged and row.cameras == ("hs-east",)
        assert row.reason == "expired badge [redacted]" and "12345678" not in (row.raw or "")
        vigil.kill9()  # no goodbye: the broker publishes the last will
        wait_for(lambda: watcher.received("vigil/status")[-1:] == ["offline"], 60, "the last will")
    finally:
        vigil.close()
        watcher.close()
    assert "0012345678" not in vigil.log and "12345678" not in vigil.log
    assert "door event dated outside the accepted window on site/doors/in (out_of_window)" in vigil.log


def test_onguard_denied_event_polled_into_the_store(tmp_path: Path) -> None:
    server = ScenarioServer().start()
    prism = Prism(tmp_path, f"http://127.0.0.1:{server.port}")
    # OnGuard's badge_id_str keeps leading zeros, badge_id is a number, and the vendor text names it.
    server.add(logged_event(501, time.time() - 30, "Access Denied: Invalid Badge", event_text="Badge 12345678 expired",
                            badge_id_str="0012345678"),
               logged_event(502, time.time() - 29, "Access Granted"))
    secret = tmp_path / "onguard.secret"
    secret.write_text(PASSWORD + "\n")
    config = daemon_config(tmp_path, f"""
[[door_adapters.onguard]]
url = "{prism.url}"
application_id = "{APPLICATION_ID}"
user = "{USER}"
password_file = "{secret}"
poll_interval_s = 1
""")
    vigil = VigilProcess(config)
    try:
        wait_for(lambda: len(stored(config)) >= 2, 60, "the polled OnGuard events")
        rows = {r.event_id.split("/")[1]: r for r in stored(config) if r.source == "onguard"}
        denied = rows["501"]
        assert denied.kind is DoorEventKind.ACCESS_DENIED and denied.flagged
        assert (denied.door_id, denied.access_point, denied.credential_last4) == ("east-main", "1.7", "5678")
        assert rows["502"].kind is DoorEventKind.ACCESS_GRANTED and not rows["502"].flagged
        assert denied.reason == "Access Denied: Invalid Badge - Badge [redacted] expired"
        assert "12345678" not in (denied.raw or "")
        # The cursor was persisted in the daemon's index.
        index = index_of(config)
        try:
            assert DoorStore(index).load_cursor("onguard") is not None
        finally:
            index.close()
    finally:
        vigil.close()
        prism.stop()
        server.stop()
    assert PASSWORD not in vigil.log
    assert "Violation" not in prism.log
