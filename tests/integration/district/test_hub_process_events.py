"""The running `vigil hub` (its TaskGroup runs hub.ingest) with the district broker it configures
(`vigil hub broker-config`), a site enrolled through the real exchange and its mosquitto bridged
with the certificate it got: a door event published on the site's broker is in the hub's
`GET /api/events` within 2 s, the site is reachable, and the stream sends it to a signed-in browser."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub_proc import HubProcess, enrol, sign_in
from tests.support.mosquitto import Broker
from vigil.core.district import BridgeSettings, SiteMessage, SiteTopic, bridge_conf, local_topic, message_bytes


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path)
    try:
        yield hub.start()
    finally:
        assert hub.stop() == 0, hub.log_path.read_text()[-3000:]


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the district broker exited"
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the district broker did not listen")


def test_a_door_event_at_a_bridged_site_reaches_the_running_hub(hub: HubProcess, tmp_path: Path) -> None:
    hub.add_user("dana", "district_admin")
    conf = hub.cli("broker-config").stdout.strip().splitlines()[-1]
    with (tmp_path / "district-broker.log").open("wb") as log:
        district_broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=log, stderr=log)
    site_broker: Broker | None = None
    try:
        _wait_port(hub.broker_port, district_broker)
        enrolled = enrol(hub, hub.enrol_code("site1"), "site1", tmp_path / "site1-keys")
        bridge = bridge_conf(BridgeSettings("site1", "127.0.0.1", hub.broker_port, str(enrolled.ca),
                                            str(enrolled.cert), str(enrolled.key)))
        (tmp_path / "site1").mkdir()
        site_broker = Broker(tmp_path / "site1", extra=tuple(bridge.splitlines())).start()
        session = sign_in(hub, "dana")

        deadline = time.monotonic() + 30
        while True:
            sites = session.call("/api/sites").json()["sites"]
            if sites and sites[0]["reachability"] == "reachable":
                break
            assert time.monotonic() < deadline, (sites, (tmp_path / "district-broker.log").read_text())
            time.sleep(0.2)

        stream = urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - the hub on loopback
            hub.url + "/api/events/stream", headers={"Cookie": session.cookie}), context=hub.context(), timeout=10)
        assert stream.readline() == b": connected\n"
        message = SiteMessage(SiteTopic.DOOR_EVENT, "site1", "boot-1", 1, time.time_ns(),
                              {"id": 1, "door": "d-east", "building": "hs", "kind": "access_denied", "flag": "denied"})
        published = time.monotonic()
        site_broker.pub(local_topic(SiteTopic.DOOR_EVENT), message_bytes(message))
        while True:
            events = session.call("/api/events").json()["events"]
            if events:
                break
            assert time.monotonic() - published < 2.0, "the door event did not reach the hub within 2 s"
            time.sleep(0.05)
        assert [(e["site"], e["kind"], e["headline"]) for e in events] == [
            ("site1", "door_event", "Denied badge at d-east (hs)")]
        lines = [stream.readline() for _ in range(3)]
        stream.close()
        assert lines[1] == b"event: message\n" and json.loads(lines[2].removeprefix(b"data: "))["id"] == events[0]["id"]
    finally:
        if site_broker is not None:
            site_broker.stop()
        district_broker.terminate()
        district_broker.wait(10)
