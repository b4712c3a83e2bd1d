"""incident_alerts.py over a real index and AlertHub: this process's incident changes are told as
they commit, once; those of another process (the command line) when the open incidents are read."""

from __future__ import annotations

import asyncio

from tests.support.service_env import NOW, appliance, user
from vigil.config import Config
from vigil.config.live import LiveConfig
from vigil.core.incidents import DeclaredVia
from vigil.doors.alerts import AlertHub
from vigil.doors.sink import Alert, AlertKind
from vigil.incident_alerts import IncidentAlerts
from vigil.services import incidents
from vigil.services.env import ServiceEnv
from vigil.store.index import Index


async def _told_within(queue: asyncio.Queue[Alert | None], count: int, timeout_s: float = 10.0
                       ) -> list[tuple[object, ...]]:
    """The next `count` alerts (each read the open incidents may tell some of them)."""
    out: list[tuple[object, ...]] = []
    async with asyncio.timeout(timeout_s):
        while len(out) < count:
            await asyncio.sleep(0.02)
            out += _told(queue)
    return out


def _told(queue: asyncio.Queue[Alert | None]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    while not queue.empty():
        alert = queue.get_nowait()
        assert alert is not None and alert.kind is AlertKind.INCIDENT
        out.append((alert.body["kind"], alert.body["incident"], alert.body["building"], alert.body["what"]))
    return out


async def test_changes_here_at_once_and_from_elsewhere_when_read(config: Config, index: Index) -> None:
    here = ServiceEnv(LiveConfig(config), index)
    elsewhere = ServiceEnv(LiveConfig(config), index)  # the command line: nobody listens to it
    hub = AlertHub()
    feed = IncidentAlerts(here, hub, poll_interval_s=0.05)
    here.incident_listeners.append(feed.changed)
    sub = hub.subscribe()
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.sleep(0.1)
        first = await incidents.declare(here, user("hs-admin"), building="hs", cameras=[], reason="lockdown",
                                        via=DeclaredVia.API)
        await incidents.declare(here, user("hs-admin"), building="hs", cameras=[], reason="again",
                                via=DeclaredVia.API)
        assert _told(sub.queue) == [("incident", first.incident.id, "hs", "declared"),
                                    ("incident", first.incident.id, "hs", "joined")]
        await asyncio.sleep(0.2)
        assert _told(sub.queue) == []  # the poll saw it open already: not told twice
        other = await incidents.declare(elsewhere, appliance(NOW), building="ms", cameras=[], reason="drill",
                                        drill=True, via=DeclaredVia.CLI)
        await incidents.end(elsewhere, appliance(NOW), first.incident.id, "over")
        assert sorted(await _told_within(sub.queue, 2)) == [("incident", first.incident.id, "hs", "ended"),
                                                            ("incident", other.incident.id, "ms", "declared")]
        await incidents.end(here, appliance(NOW), other.incident.id, "over")
        assert _told(sub.queue) == [("incident", other.incident.id, "ms", "ended")]  # at once, here
        await asyncio.sleep(0.2)
        assert _told(sub.queue) == []
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        here.close()
        elsewhere.close()
