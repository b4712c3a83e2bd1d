"""A district of real mosquitto brokers: the hub's (TLS, client certificates, the hub's ACL) in the
test's network namespace, three sites' each in its own namespace behind a veth pair, bridged with
core.district.bridge_conf, and the hub's real ingest (hub/ingest.py) in the test's event loop."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.district_net import DistrictPki, HubBroker, Netns, SiteBroker, enrol_site_row, hub_env
from tests.support.http_call import free_port
from vigil.core.district import SiteMessage, SiteTopic, local_topic, message_bytes
from vigil.hub.env import HubEnv
from vigil.hub.ingest import Ingest

SITES = ("site1", "site2", "site3")


@dataclass
class District:
    tmp: Path
    pki: DistrictPki
    broker: HubBroker
    nets: dict[str, Netns]
    sites: dict[str, SiteBroker]
    env: HubEnv
    ingest: Ingest
    ingest_task: asyncio.Task[None]
    heard: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (monotonic, Event JSON)
    boots: dict[str, str] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)

    def door_event(self, site: str, **data: Any) -> bytes:
        """The next flagged door event of `site`'s daemon, as its publisher sends it."""
        seq = self.seqs[site] = self.seqs.get(site, 0) + 1
        body = {"id": seq, "door": "d-east", "building": "b1", "kind": "access_denied", "flag": "denied",
                "at": "2026-12-03T10:00:00Z", **data}
        return message_bytes(SiteMessage(SiteTopic.DOOR_EVENT, site, self.boots[site], seq, time.time_ns(), body))

    async def publish(self, site: str, payloads: list[bytes]) -> None:
        await asyncio.to_thread(self.sites[site].publish_lines, local_topic(SiteTopic.DOOR_EVENT), payloads)

    def seqs_heard(self, site: str) -> list[int]:
        return [int(e["data"]["id"]) for _, e in self.heard if e["site"] == site]

    async def wait_for(self, what: str, check: Any, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout_s} s")
            await asyncio.sleep(0.05)

    async def site_row(self, site: str) -> dict[str, Any]:
        rows = await self.env.run(lambda: self.env.db.query("SELECT * FROM sites WHERE id = ?", (site,)))
        return dict(rows[0])

    async def bridges_up(self, sites: tuple[str, ...] = SITES, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        for site in sites:
            while (await self.site_row(site))["bridge_up"] != 1:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the bridge of {site} did not come up: {self.sites[site].log.read_text()}")
                await asyncio.sleep(0.1)


@pytest.fixture
async def district(tmp_path: Path) -> AsyncIterator[District]:
    pki = DistrictPki(tmp_path / "pki")
    nets: dict[str, Netns] = {}
    sites: dict[str, SiteBroker] = {}
    broker: HubBroker | None = None
    try:
        for number, site in enumerate(SITES, start=1):
            nets[site] = Netns(number)
        port = free_port()
        broker = HubBroker(tmp_path / "hub-broker", port, pki, SITES, tuple(n.hub_ip for n in nets.values()))
        broker.start()
        env = hub_env(tmp_path / "hub", pki, port)
        for number, site in enumerate(SITES, start=1):
            enrol_site_row(env, site, f"School {number}")
            sites[site] = SiteBroker(tmp_path, site, nets[site], pki, port).start()
        ingest = Ingest(env)
        task = asyncio.create_task(ingest.run())
        d = District(tmp_path, pki, broker, nets, sites, env, ingest, task,
                     boots={site: str(uuid.uuid4()) for site in SITES})
        env.message_listeners.append(lambda event: d.heard.append((time.monotonic(), event)))
        try:
            async with asyncio.timeout(20):
                await ingest.connected.wait()
            await d.bridges_up()
            yield d
        finally:
            d.ingest_task.cancel()
            await asyncio.gather(d.ingest_task, return_exceptions=True)
            env.db.close()
            env.close()
    finally:
        for site_broker in sites.values():
            site_broker.stop()
        if broker is not None:
            broker.stop()
        for ns in nets.values():
            ns.delete()
