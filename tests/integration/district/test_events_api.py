"""The hub's event list and live stream over HTTP (hub/events_api.py), fed by the real ingest's
message handling (Ingest.handle, what it does with each message from the broker)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.district_net import DistrictPki, enrol_site_row, hub_env
from tests.support.hub_harness import USER_HEADER, hub_server
from vigil.core.district import SiteMessage, SiteTopic, hub_topic, message_bytes
from vigil.core.hub_permissions import HubUser
from vigil.core.permissions import Role
from vigil.hub.env import HubEnv
from vigil.hub.events_api import EVENT_ROUTES
from vigil.hub.ingest import Ingest

USERS = {"admin": HubUser(1, "admin", Role.DISTRICT_ADMIN, ()),
         "viewer": HubUser(2, "viewer", Role.VIEWER, ("site1/b1",))}
INVENTORY = {"buildings": [{"id": "b1", "name": "Lincoln HS"}], "doors": [{"id": "d1", "name": "East Entrance"}],
             "cameras": [], "url": "https://site1.test"}


class Hub:
    def __init__(self, env: HubEnv, base: str, http: aiohttp.ClientSession) -> None:
        self.env, self.base, self.http = env, base, http
        self.ingest = Ingest(env)
        self.seq = 0

    async def hear(self, site: str, topic: SiteTopic, at_ns: int, **data: Any) -> None:
        self.seq += 1
        message = SiteMessage(topic, site, "boot-1", self.seq, at_ns, data)
        await self.ingest.handle(hub_topic(site, topic), message_bytes(message))

    async def get(self, path: str, user: str) -> tuple[int, Any]:
        async with self.http.get(self.base + path, headers={USER_HEADER: user}) as r:
            return r.status, await r.json(content_type=None)


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    env = hub_env(tmp_path / "hub", DistrictPki(tmp_path / "pki"), 1)
    enrol_site_row(env, "site1", "Lincoln campus")
    enrol_site_row(env, "site2", "Adams campus")
    try:
        async with hub_server(env, EVENT_ROUTES, USERS) as base, aiohttp.ClientSession() as http:
            yield Hub(env, base, http)
    finally:
        env.db.close()
        env.close()


async def test_events_newest_first_filtered_to_the_users_sites(hub: Hub) -> None:
    t0 = time.time_ns()
    inventory = SiteMessage(SiteTopic.INVENTORY, "site1", "boot-1", 1, t0, INVENTORY)
    await hub.ingest.handle(hub_topic("site1", SiteTopic.INVENTORY), message_bytes(inventory))
    await hub.hear("site1", SiteTopic.DOOR_EVENT, t0 + 1, door="d1", building="b1", kind="access_denied")
    await hub.hear("site1", SiteTopic.INCIDENT, t0 + 2, building="b1", what="declared", reason="smoke", drill=False)
    await hub.hear("site2", SiteTopic.DOOR_EVENT, t0 + 3, door="x", building="a1", kind="door_forced_open")
    await hub.hear("site9", SiteTopic.DOOR_EVENT, t0 + 4, door="x", kind="door_forced_open")  # not enrolled
    await hub.hear("site1", SiteTopic.DOOR_EVENT, t0 - 10, door="d2", building="b2", kind="duress")  # not viewer's b1
    await hub.hear("site1", SiteTopic.STORAGE, t0 - 20, problem="disk_low", detail="")  # the whole site
    await hub.ingest.handle(hub_topic("site2", SiteTopic.DOOR_EVENT), b"{not json")
    assert hub.ingest.dropped["site9"] == 1 and hub.ingest.malformed["site2"] == 1

    status, body = await hub.get("/api/events", "admin")
    assert status == 200 and len(body["events"]) == 5
    assert [(e["site"], e["headline"]) for e in body["events"][:3]] == [
        ("site2", "Door forced open at x (a1)"), ("site1", "Incident declared in Lincoln HS: smoke"),
        ("site1", "Denied badge at East Entrance (Lincoln HS)")]
    event = body["events"][2]
    assert set(event) == {"id", "site", "kind", "at", "received_at", "building", "headline", "data"}
    assert event["building"] == "b1" and event["kind"] == "door_event" and event["data"]["door"] == "d1"

    status, body = await hub.get("/api/events", "viewer")
    assert status == 200 and [(e["site"], e["building"], e["kind"]) for e in body["events"]] == [
        ("site1", "b1", "incident"), ("site1", "b1", "door_event"), ("site1", None, "storage")]
    status, body = await hub.get("/api/events?kind=door_event&q=EAST%20denied", "viewer")
    assert [e["headline"] for e in body["events"]] == ["Denied badge at East Entrance (Lincoln HS)"]
    status, body = await hub.get("/api/events?q=west", "viewer")
    assert body["events"] == []
    status, body = await hub.get("/api/events?limit=1", "admin")
    assert [e["site"] for e in body["events"]] == ["site2"]
    status, body = await hub.get("/api/events?site=site2", "viewer")
    assert status == 403 and "site2" in body["detail"]
    for bad in ("limit=0", "limit=x", "limit=%C2%B2", "kind=health", "since=yesterday"):
        status, body = await hub.get(f"/api/events?{bad}", "admin")
        assert status == 400, (bad, body)
    status, body = await hub.get("/api/events", "nobody")
    assert status == 401
    # the inventory and health went to the site's row, not the list
    rows = await hub.env.run(lambda: hub.env.db.query("SELECT inventory, health FROM sites WHERE id = 'site1'"))
    assert json.loads(rows[0][0])["doors"][0]["name"] == "East Entrance" and rows[0][1] is None


async def test_the_stream_sends_each_stored_event_of_the_users_sites(hub: Hub) -> None:
    async with hub.http.get(hub.base + "/api/events/stream", headers={USER_HEADER: "viewer"}) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "text/event-stream"
        assert await r.content.readline() == b": connected\n"
        assert await r.content.readline() == b"\n"
        assert hub.env.message_listeners
        await hub.hear("site2", SiteTopic.DOOR_EVENT, time.time_ns(), door="x", kind="duress")  # not the viewer's
        await hub.hear("site1", SiteTopic.DOOR_EVENT, time.time_ns(), door="x", building="b2", kind="duress")  # nor
        await hub.hear("site1", SiteTopic.DOOR_EVENT, time.time_ns(), door="d9", building="b1", kind="tamper")
        await hub.hear("site1", SiteTopic.DOOR_EVENT, time.time_ns(), door="d9", building="b1", kind="tamper")
        async with asyncio.timeout(5):
            lines = [await r.content.readline() for _ in range(3)]
        assert lines[0] == b"event: message\n" and lines[2] == b"\n"
        event = json.loads(lines[1].removeprefix(b"data: "))
        assert event["site"] == "site1" and event["headline"] == "Tamper at d9 (b1)"
    # the browser went: its listener goes once the server notices (the next event written)
    await hub.hear("site1", SiteTopic.DOOR_EVENT, time.time_ns(), door="d9", building="b1", kind="tamper")
    async with asyncio.timeout(5):
        while hub.env.message_listeners:
            await asyncio.sleep(0.05)
            await hub.hear("site1", SiteTopic.DOOR_EVENT, time.time_ns(), door="d9", building="b1", kind="tamper")


async def test_a_removed_site_is_dropped_and_counted(hub: Hub) -> None:
    with hub.env.db.transaction() as c:
        c.execute("UPDATE sites SET removed_wall_ns = ? WHERE id = 'site1'", (time.time_ns(),))
    await hub.hear("site1", SiteTopic.DOOR_EVENT, time.time_ns(), door="d1", building="b1", kind="duress")
    await hub.ingest.handle(hub_topic("site1", SiteTopic.BRIDGE), b"1")
    await hub.hear("site1", SiteTopic.HEALTH, time.time_ns(), state="ok")
    await hub.ingest.handle(hub_topic("site2", SiteTopic.BRIDGE), b"maybe")
    assert hub.ingest.dropped["site1"] == 3 and hub.ingest.malformed["site2"] == 1 and hub.ingest.stored == 0
    rows = await hub.env.run(lambda: hub.env.db.query("SELECT bridge_up, health FROM sites WHERE id = 'site1'"))
    assert tuple(rows[0]) == (None, None)
    status, body = await hub.get("/api/events", "admin")
    assert status == 200 and body["events"] == []
