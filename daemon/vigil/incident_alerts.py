"""Incident changes on the alert stream (issue 16): `{"kind": "incident", "incident": id,
"building": id, "what": "declared"|"joined"|"ended"}` for the building's watchers (the stream
filters by building, api/door_events.py).

Changes made in this process (the API, MQTT, the door rule) arrive as `IncidentChange`s the moment
they commit. The command line writes the index from another process, so the open incidents are
also read every `POLL_INTERVAL_S` and a declaration or end not heard of is told then
(core/incident_feed.py); a join from the command line is not (the open set does not change)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

from vigil.core.errors import VigilError
from vigil.core.incident_feed import unheard_changes
from vigil.core.incidents import IncidentState
from vigil.doors.alerts import AlertHub, incident_alert
from vigil.services import incidents
from vigil.services.caller import worker_caller
from vigil.services.env import IncidentChange, ServiceEnv

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 2.0


class IncidentAlerts:
    def __init__(self, env: ServiceEnv, alerts: AlertHub, poll_interval_s: float = POLL_INTERVAL_S) -> None:
        self.env = env
        self.alerts = alerts
        self.poll_interval_s = poll_interval_s
        self.known_open: dict[int, str] = {}  # incident id -> building, as last told
        self.heard = 0  # changes heard in this process: a read they overtook is stale

    def changed(self, change: IncidentChange) -> None:
        """ServiceEnv.incident_listeners: on the loop, right after the change committed. A change
        the poll told already is not told twice."""
        self.heard += 1
        if change.what == "declared":
            if change.incident_id in self.known_open:
                return
            self.known_open[change.incident_id] = change.building_id
        elif change.what == "ended" and self.known_open.pop(change.incident_id, None) is None:
            return
        self._publish(change.incident_id, change.building_id, change.what)

    def _publish(self, incident_id: int, building_id: str, what: str) -> None:
        self.alerts.publish(incident_alert(incident_id, building_id, what))

    async def _open_now(self) -> dict[int, str]:
        rows = await incidents.list_incidents(self.env, worker_caller(time.time_ns(), "incident-alerts"),
                                              IncidentState.OPEN)
        return {r.id: r.building_id for r in rows}

    async def run(self) -> None:
        """For the daemon's lifetime: what was open at the start is known (pages read it when they
        load); then what other processes changed."""
        try:
            self.known_open = await self._open_now()
        except (sqlite3.Error, VigilError) as error:
            log.warning("incident alerts: open incidents not read at the start: %s", error)
        while True:
            await asyncio.sleep(self.poll_interval_s)
            heard = self.heard
            try:
                now = await self._open_now()
            except (sqlite3.Error, VigilError) as error:  # a busy index: the next round
                log.warning("incident alerts: open incidents not read: %s", error)
                continue
            if self.heard != heard:  # a change committed here while reading: the read may predate it
                continue
            for change in unheard_changes(self.known_open, now):
                self._publish(change.incident_id, change.building_id, change.what)
            self.known_open = now
