"""The district publisher of the real daemon against a real mosquitto (the appliance's local
broker): health and inventory retained, a denied badge at a door published as `door_event`, a
camera going down (its simulated camera stopped) published as `camera`, seq increasing within the
boot; nothing published before the appliance is enrolled."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.district import enrol_test_hub
from tests.support.mosquitto import Broker, Subscriber
from tests.support.vigil_proc import run_vigil, vigil_stdin, wait_for
from tests.support.webapp import running_webapp
from vigil.core.timebase import wall_ns_to_iso

pytestmark = pytest.mark.slow

DOORS = """
[[doors]]
id = "hs-door"
name = "East Doors"
building = "hs"
cameras = ["hs-east"]
access_points = [{{ source = "lenel", id = "reader-7" }}]
[district]
broker_host = "127.0.0.1"
broker_port = {port}
health_interval_s = 1
"""


def _messages(sub: Subscriber, kind: str) -> list[dict[str, Any]]:
    return [json.loads(p) for p in sub.received(f"district/{kind}")]


def test_the_publisher_tells_the_local_broker(tmp_path: Path) -> None:
    broker = Broker(tmp_path).start()
    try:
        sub = broker.subscriber("district/#").ready()
        with running_webapp(tmp_path, DOORS.format(port=broker.port)) as web:
            time.sleep(2)
            assert not [t for t, _ in sub.lines if t.startswith("district/")]  # not enrolled: silent
            enrol_test_hub(tmp_path / "data", "site-a")
            wait_for(lambda: len(_messages(sub, "health")) >= 2 and bool(_messages(sub, "inventory")), 20,
                     "health and inventory")
            inventory = _messages(sub, "inventory")[0]
            assert inventory["site"] == "site-a" and inventory["v"] == 1
            data = inventory["data"]
            assert {c["id"] for c in data["cameras"]} == {"hs-east", "hs-gym", "ms-front"}
            assert data["doors"] == [{"id": "hs-door", "name": "East Doors", "building": "hs"}]
            assert data["url"] == web.base
            health = _messages(sub, "health")[-1]["data"]
            assert health["cameras_total"] == 3 and health["cameras_up"] == 3 and health["state"] == "ok"
            # retained: a subscriber that comes later gets the latest health and the inventory at once
            late = broker.subscriber("district/+").ready()
            wait_for(lambda: bool(late.received("district/health") and late.received("district/inventory")), 10,
                     "retained health and inventory")
            late.close()
            # a denied badge at the door
            user = vigil_stdin("a long enough password\n", "user", "add", "lenel", "--role", "door_system",
                               "--password-stdin", "--config", str(web.config))
            assert user.returncode == 0, user.stderr
            token = run_vigil("token", "create", "lenel", "--config", str(web.config)).stdout.strip()
            doc = {"schema": "door-event/v1", "source": "lenel", "event_id": "e1", "kind": "access_denied",
                   "occurred_at": wall_ns_to_iso(time.time_ns()), "access_point": "reader-7",
                   "credential": "0049912345"}
            status, body, _ = web.request("POST", "/api/door-events", doc, headers={"Authorization": f"Bearer {token}"})
            assert status in (200, 201), body
            wait_for(lambda: bool(_messages(sub, "door_event")), 10, "the door event")
            event = _messages(sub, "door_event")[0]["data"]
            assert event["door"] == "hs-door" and event["building"] == "hs" and event["kind"] == "access_denied"
            assert event["badge"] == "2345" and "0049912345" not in json.dumps(event)
            # an incident declared here
            declared = web.json("POST", "/api/incidents", {"building": "hs", "reason": "fire drill", "drill": True})
            wait_for(lambda: bool(_messages(sub, "incident")), 10, "the incident")
            incident = _messages(sub, "incident")[0]["data"]
            assert incident == {"incident": declared["incident"]["id"], "building": "hs", "what": "declared",
                                "reason": "fire drill", "drill": True}
            # a building added through the API (applied as a reload is): the inventory again
            web.json("POST", "/api/config/buildings", {"id": "es", "name": "Elementary"})
            wait_for(lambda: any(b["id"] == "es" for b in _messages(sub, "inventory")[-1]["data"]["buildings"]), 10,
                     "the new inventory")
            # a camera going down
            web.cams.stop()
            wait_for(lambda: len(_messages(sub, "camera")) >= 3, 30, "the cameras going down")
            down = {m["data"]["camera"]: m["data"] for m in _messages(sub, "camera")}
            assert set(down) == {"hs-east", "hs-gym", "ms-front"}
            assert all(d["state"] == "down" for d in down.values()) and down["ms-front"]["building"] == "ms"
            wait_for(lambda: _messages(sub, "health")[-1]["data"]["cameras_up"] == 0, 10, "health to say so")
            assert _messages(sub, "health")[-1]["data"]["state"] == "degraded"
            status_now = web.json("GET", "/api/district")["publisher"]
            assert status_now["connected"] is True and status_now["dropped"] == 0
            # one boot, seq increasing in the order published
            every = [json.loads(p) for t, p in list(sub.lines) if t.startswith("district/")]
            assert len({m["boot"] for m in every}) == 1
            seqs = [m["seq"] for m in every if m["kind"] not in ("health", "inventory")]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        sub.close()
    finally:
        broker.stop()
