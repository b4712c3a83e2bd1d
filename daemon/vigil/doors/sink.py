"""The seams between door-event adapters and the rest of the daemon.

An adapter (webhook, MQTT, OnGuard poller) turns its source's records into `IncomingDoorEvent`s and
hands them to a `DoorEventSink`; the sink stores, de-duplicates, maps to doors, flags and protects
footage. Adapters report their own connectivity through the sink, so an outage is recorded as
`device_offline`/`device_online` events and a gap never looks like "no events". Pollers keep their
position with the sink's persisted cursor. Flagged events and adapter health changes go out on an
`AlertFeed` (server-sent events to browsers, MQTT to other systems)."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from vigil.core.door_events import IncomingDoorEvent


@dataclass(frozen=True)
class Submitted:
    """What became of one submitted event."""

    id: int  # the local door-event id (the original one when `duplicate`)
    duplicate: bool  # (source, event_id) was already stored; nothing was changed
    flagged: bool


class DoorEventSink(Protocol):
    async def submit(self, event: IncomingDoorEvent, received_wall_ns: int) -> Submitted:
        """Store the event; raises `OccurredOutOfWindowError` when its device time is too far from
        `received_wall_ns` (adapters drop, count and log it; the webhook answers 400)."""

    async def source_down(self, source: str, reason: str, wall_ns: int) -> None:
        """The adapter lost its source (first call of an outage records `device_offline`)."""

    async def source_up(self, source: str, wall_ns: int) -> None:
        """The adapter reached its source (records `device_online` if it was down)."""

    async def load_cursor(self, source: str) -> str | None: ...

    async def save_cursor(self, source: str, cursor: str) -> None: ...


class AlertKind(enum.Enum):
    DOOR_EVENT_FLAGGED = "door_event_flagged"
    ADAPTER_HEALTH = "adapter_health"
    ALERTS_LOST = "alerts_lost"  # this watcher fell behind; body {"lost": n}
    # an incident was declared, joined or ended (issue 16); body {"kind": "incident", "incident": id,
    # "building": id, "what": "declared"|"joined"|"ended"}: the pages' banner asks the API for the rest
    INCIDENT = "incident"


@dataclass(frozen=True)
class Alert:
    """One thing pushed live to watchers; `body` is JSON-ready and holds no credential."""

    kind: AlertKind
    body: dict[str, object] = field(default_factory=dict)


class AlertFeed(Protocol):
    def subscribe(self) -> AsyncIterator[Alert]:
        """Alerts from now on, through a bounded queue (a slow watcher loses the oldest and is told)."""
        ...
