"""The live alert feed: flagged door events, adapter health and incident changes, fanned out to every watcher
(server-sent events, MQTT) through a bounded queue per subscriber.

Publishing never blocks: a watcher that falls behind loses its oldest alerts and is then told how
many it lost (an `alerts_lost` alert). `close()` ends every subscription, so streaming responses
finish cleanly when the daemon stops."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from vigil.core.door_record import stored_reason
from vigil.core.timebase import wall_ns_to_iso
from vigil.doors.sink import Alert, AlertKind
from vigil.store.door_events import DoorEventRow

log = logging.getLogger(__name__)

QUEUE_ALERTS = 100


class Subscription:
    """One watcher's bounded queue; an async iterator of alerts that ends when the hub closes or
    `close()` is called. Waiting for the next alert may be cancelled (e.g. for a heartbeat) safely."""

    def __init__(self, hub: AlertHub, size: int) -> None:
        self._hub = hub
        self.queue: asyncio.Queue[Alert | None] = asyncio.Queue(size)
        self.lost = 0
        self.ended = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Alert:
        if self.ended:
            raise StopAsyncIteration
        if self.lost:
            lost, self.lost = self.lost, 0
            log.warning("an alert watcher fell behind and lost %d alerts", lost)
            return Alert(AlertKind.ALERTS_LOST, {"lost": lost})
        alert = await self.queue.get()
        if alert is None:
            self.close()
            raise StopAsyncIteration
        return alert

    def offer(self, alert: Alert | None) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            if alert is not None:
                self.lost += 1
        self.queue.put_nowait(alert)

    def close(self) -> None:
        self.ended = True
        self._hub.unsubscribe(self)


class AlertHub:
    """Implements `vigil.doors.sink.AlertFeed`. Use from the event loop's thread only."""

    def __init__(self, queue_alerts: int = QUEUE_ALERTS) -> None:
        self.queue_alerts = queue_alerts
        self._subscribers: set[Subscription] = set()
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, alert: Alert) -> None:
        for sub in self._subscribers:
            sub.offer(alert)

    def close(self) -> None:
        self.closed = True
        for sub in list(self._subscribers):
            sub.offer(None)

    def subscribe(self) -> Subscription:
        """Alerts from now on (registered at once, before the first wait)."""
        sub = Subscription(self, self.queue_alerts)
        if self.closed:
            sub.ended = True
        else:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)


def _iso(ns: int | None) -> str | None:
    return None if ns is None else wall_ns_to_iso(ns)


def door_event_body(row: DoorEventRow, *, include_raw: bool = False) -> dict[str, Any]:
    """The JSON form of a stored door event (API and alerts); the credential appears only as its
    last 4 characters, never its keyed hash. The reason is scrubbed again as it is served (rows
    stored before the reason was scrubbed keep no card number in what is shown)."""
    body: dict[str, Any] = {
        "id": row.id, "source": row.source, "event_id": row.event_id, "kind": row.kind.value,
        "reason": stored_reason(row.kind, row.reason, []),
        "occurred_at": _iso(row.occurred_wall_ns), "received_at": _iso(row.received_wall_ns),
        "occurred_wall_ns": row.occurred_wall_ns, "skew_s": round(row.skew_ns / 1e9, 3),
        "access_point": row.access_point, "door": row.door_id, "direction": row.direction, "building": row.building,
        "cameras": list(row.cameras), "credential_last4": row.credential_last4, "cardholder": row.cardholder,
        "severity": row.severity, "flagged": row.flagged, "flag_reasons": list(row.flag_reasons),
        "unmapped": row.unmapped, "acked_by": row.acked_by, "acked_at": _iso(row.acked_wall_ns),
    }
    if include_raw:
        body["raw"] = row.raw
        body["raw_truncated"] = row.raw_truncated
    return body


def incident_alert(incident_id: int, building_id: str, what: str) -> Alert:
    """What the alert stream tells the building's watchers of an incident change (ids only)."""
    return Alert(AlertKind.INCIDENT, {"kind": "incident", "incident": incident_id, "building": building_id,
                                      "what": what})


def alert_buildings(alert: Alert) -> list[str] | None:
    """The buildings an alert is about (None: none in particular, for district staff)."""
    value = alert.body.get("buildings")
    if isinstance(value, list):
        return [str(b) for b in value]
    building = alert.body.get("building")
    return None if building is None else [str(building)]
