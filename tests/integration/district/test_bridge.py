"""Site brokers bridged to the district broker (core.district.bridge_conf, broker_acl), each site in
its own network namespace, into the hub's real ingest: delivery within 2 s, a cut link (nothing
lost, order kept, the site shown unreachable with since-when meanwhile), a restart of the district
broker, the hub away for a while (its persistent session keeps what came meanwhile), and a site
refused when it writes another site's topics."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.district.conftest import SITES, District
from vigil.core.district import SiteMessage, SiteTopic, hub_topic, message_bytes
from vigil.core.timebase import wall_ns_to_iso
from vigil.hub.ingest import Ingest
from vigil.hub.sites import list_sites


async def test_door_events_at_each_site_reach_the_hub_within_2_s(district: District) -> None:
    for site in SITES:
        payload = district.door_event(site, door="d-east", kind="access_denied")
        seq = district.seqs[site]
        started = time.monotonic()
        await district.publish(site, [payload])
        await district.wait_for(f"{site}'s door event at the hub", lambda s=site, q=seq: q in district.seqs_heard(s),
                                2.0)
        heard_at = next(t for t, e in district.heard if e["site"] == site and e["data"]["id"] == seq)
        assert heard_at - started < 2.0
    stored = await district.env.run(lambda: district.env.db.query(
        "SELECT site_id, kind, building, headline FROM site_messages ORDER BY id"))
    assert [tuple(r) for r in stored] == [(s, "door_event", "b1", "Denied badge at d-east (b1)") for s in SITES]


@pytest.mark.slow
async def test_a_cut_link_loses_nothing_and_shows_the_site_unreachable_meanwhile(district: District) -> None:
    site = "site3"
    district.nets[site].cut()
    cut_ns = time.time_ns()
    cut_at = time.monotonic()
    payloads = [district.door_event(site) for _ in range(100)]
    await district.publish(site, payloads)  # the site's own broker takes them: the bridge queues them
    # During the cut the district broker loses the bridge (its keepalive, 45 s) and publishes the
    # bridge's will "0"; the hub shows the site unreachable since then (GET /api/sites' Site).
    seen_unreachable = None
    while time.monotonic() - cut_at < 60:
        shown = await district.env.run(lambda: list_sites(district.env, None, time.time_ns()))
        site3 = next(s for s in shown if s["id"] == site)
        if site3["reachability"] == "unreachable" and seen_unreachable is None:
            seen_unreachable = site3
        await asyncio.sleep(0.5)
    assert district.seqs_heard(site) == [], "nothing can arrive over a cut link"
    assert seen_unreachable is not None, "the hub never showed site3 unreachable during a 60 s cut"
    assert seen_unreachable["since"] is not None and seen_unreachable["since"] > wall_ns_to_iso(cut_ns)
    assert seen_unreachable["reason"] == "the site's bridge disconnected"
    district.nets[site].restore()
    await district.wait_for("the 100 events after the link returned", lambda: len(district.seqs_heard(site)) >= 100,
                            90)
    assert district.seqs_heard(site) == list(range(1, 101))
    await district.bridges_up((site,), timeout_s=10)
    # the other sites were not disturbed
    await district.publish("site1", [district.door_event("site1")])
    await district.wait_for("site1 after the cut", lambda: district.seqs_heard("site1") == [1], 2.0)


async def test_a_restart_of_the_district_broker_loses_nothing(district: District) -> None:
    site = "site1"
    await district.publish(site, [district.door_event(site) for _ in range(20)])
    district.broker.stop()  # SIGTERM: mosquitto saves its sessions (and every second anyway)
    await district.publish(site, [district.door_event(site) for _ in range(20)])  # queued at the site
    district.broker.start()
    await district.wait_for("40 events after the broker restart", lambda: len(district.seqs_heard(site)) >= 40, 60)
    assert district.seqs_heard(site) == list(range(1, 41))
    stored = await district.env.run(lambda: district.env.db.query(
        "SELECT seq FROM site_messages WHERE site_id = ? ORDER BY id", (site,)))
    assert [r[0] for r in stored] == list(range(1, 41))


async def test_a_long_outage_queues_more_than_mosquittos_default_1000_messages(district: District) -> None:
    # mosquitto keeps at most max_queued_messages (default 1000) for a client, the bridge included:
    # the bridge conf raises it, or a long cut would drop what the site published beyond that.
    site = "site2"
    district.broker.stop()
    await district.publish(site, [district.door_event(site) for _ in range(1500)])
    district.broker.start()
    await district.wait_for("1500 events after the outage", lambda: len(district.seqs_heard(site)) >= 1500, 90)
    assert district.seqs_heard(site) == list(range(1, 1501))


async def test_a_site_cannot_publish_for_another_site(district: District) -> None:
    ns, cert = district.nets["site2"], district.sites["site2"].cert
    forged = message_bytes(SiteMessage(SiteTopic.DOOR_EVENT, "site1", "forged-boot", 1, time.time_ns(),
                                       {"id": 999, "door": "d-east", "building": "b1", "kind": "door_forced_open"}))
    own = message_bytes(SiteMessage(SiteTopic.DOOR_EVENT, "site2", "direct-boot", 1, time.time_ns(),
                                    {"id": 998, "door": "d-west", "building": "b1", "kind": "door_forced_open"}))

    def direct(topic: str, payload: bytes) -> None:  # site2's certificate, straight at the hub's broker
        ns.exec("mosquitto_pub", "-h", ns.hub_ip, "-p", str(district.broker.port), "--cafile",
                str(district.pki.ca_cert), "--cert", str(cert.cert), "--key", str(cert.key), "-q", "1",
                "-t", topic, "-s", stdin=payload)

    await asyncio.to_thread(direct, hub_topic("site1", SiteTopic.DOOR_EVENT), forged)
    await asyncio.to_thread(direct, hub_topic("site2", SiteTopic.DOOR_EVENT), own)
    # site2's own topic goes through (so the connection worked); the forged one, sent first, did not
    await district.wait_for("site2's direct publish", lambda: 998 in district.seqs_heard("site2"), 5.0)
    await asyncio.sleep(0.5)
    assert district.seqs_heard("site1") == []
    rows = await district.env.run(lambda: district.env.db.query("SELECT site_id, boot FROM site_messages"))
    assert [tuple(r) for r in rows] == [("site2", "direct-boot")]


async def test_what_sites_publish_while_the_hub_is_down_arrives_when_it_is_back(district: District) -> None:
    # The district fixture's ingest stands for the hub process: stop it (its session stays with
    # the broker: clean_session false, the same client id), publish, start a new one.
    await district.publish("site1", [district.door_event("site1")])
    await district.wait_for("the first event", lambda: district.seqs_heard("site1") == [1], 2.0)
    district.ingest_task.cancel()
    await asyncio.gather(district.ingest_task, return_exceptions=True)
    await district.publish("site1", [district.door_event("site1") for _ in range(30)])
    await asyncio.sleep(1.0)
    assert district.seqs_heard("site1") == [1]
    restarted = Ingest(district.env)
    district.ingest_task = asyncio.create_task(restarted.run())
    await district.wait_for("the 30 queued at the broker", lambda: len(district.seqs_heard("site1")) >= 31, 10.0)
    assert district.seqs_heard("site1") == list(range(1, 32)) and restarted.duplicates == 0
