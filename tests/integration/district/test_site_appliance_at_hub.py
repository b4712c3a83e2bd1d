"""A real appliance daemon at site 2 (simulated cameras, a door, enrolled with the hub): its
publisher tells site 2's broker, the bridge carries it out of site 2's network namespace to the
district broker, and the hub's ingest stores a denied badge from the door webhook within 2 s,
named from the inventory the appliance published."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.district.conftest import District
from tests.support.district import enrol_test_hub
from tests.support.vigil_proc import run_vigil, vigil_stdin
from tests.support.webapp import running_webapp
from vigil.core.timebase import wall_ns_to_iso

pytestmark = pytest.mark.slow

SITE2 = """
[[doors]]
id = "hs-door"
name = "East Doors"
building = "hs"
cameras = ["hs-east"]
access_points = [{{ source = "lenel", id = "reader-7" }}]
[district]
broker_host = "{host}"
broker_port = {port}
health_interval_s = 1
"""


async def test_a_denied_badge_at_site_2s_appliance_reaches_the_hub_within_2_s(district: District) -> None:
    ns, broker = district.nets["site2"], district.sites["site2"]
    # The daemon runs in the test's namespace and reaches site 2's broker over site 2's veth (the
    # appliance's camera simulator stays on the loopback it knows).
    extra = SITE2.format(host=ns.site_ip, port=broker.PORT)
    (district.tmp / "appliance2").mkdir()
    appliance = running_webapp(district.tmp / "appliance2", extra)
    web = await asyncio.to_thread(appliance.__enter__)  # its start blocks: off the loop the ingest runs on
    try:
        enrol_test_hub(district.tmp / "appliance2" / "data", "site2")

        async def inventory_heard() -> bool:
            row = await district.site_row("site2")
            return row["inventory"] is not None and "East Doors" in row["inventory"]

        deadline = time.monotonic() + 30
        while not await inventory_heard():
            assert time.monotonic() < deadline, "site 2's inventory did not reach the hub"
            await asyncio.sleep(0.2)
        user = vigil_stdin("a long enough password\n", "user", "add", "lenel", "--role", "door_system",
                           "--password-stdin", "--config", str(web.config))
        assert user.returncode == 0, user.stderr
        token = run_vigil("token", "create", "lenel", "--config", str(web.config)).stdout.strip()
        doc = {"schema": "door-event/v1", "source": "lenel", "event_id": "e1", "kind": "access_denied",
               "occurred_at": wall_ns_to_iso(time.time_ns()), "access_point": "reader-7", "credential": "0049912345"}
        sent = time.monotonic()
        status, body, _ = await asyncio.to_thread(web.request, "POST", "/api/door-events", doc,
                                                  headers={"Authorization": f"Bearer {token}"})
        assert status in (200, 201), body

        def door_events() -> list[dict[str, object]]:
            return [e for _, e in district.heard if e["site"] == "site2" and e["kind"] == "door_event"]

        await district.wait_for("site 2's denied badge at the hub", lambda: bool(door_events()), 2.0)
        heard_at = next(t for t, e in district.heard if e["site"] == "site2" and e["kind"] == "door_event")
        assert heard_at - sent < 2.0
        event = door_events()[0]
        assert event["headline"] == "Denied badge at East Doors (High School)" and event["building"] == "hs"
        assert "0049912345" not in str(event["data"])
    finally:
        await asyncio.to_thread(appliance.__exit__, None, None, None)
