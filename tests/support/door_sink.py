"""In-memory implementations of OUR door-event seams (vigil.doors.sink) for adapter tests.

These stand in for vigil's own store, not for a peer: the peers (mosquitto, an OpenAccess server)
are real in the tests that use them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from vigil.core.door_events import IncomingDoorEvent, check_occurred
from vigil.doors.sink import Alert, Submitted


class MemorySink:
    """Stores events by (source, event_id), records outages and cursors. With `window` (max past,
    max future seconds) it refuses events dated outside it as DoorEventService does (the same pure
    core.door_events.check_occurred)."""

    def __init__(self, window: tuple[float, float] | None = None) -> None:
        self.window = window
        self.events: dict[str, IncomingDoorEvent] = {}
        self.submissions = 0
        self.health: list[tuple[str, str, str | None]] = []  # (source, "down" | "up", reason)
        self.cursors: dict[str, str] = {}
        self._down: set[str] = set()

    async def submit(self, event: IncomingDoorEvent, received_wall_ns: int) -> Submitted:
        self.submissions += 1
        if self.window is not None:
            check_occurred(event.occurred_wall_ns, received_wall_ns, *self.window)
        keys = list(self.events)
        if event.dedupe_key in self.events:
            return Submitted(keys.index(event.dedupe_key) + 1, duplicate=True, flagged=False)
        self.events[event.dedupe_key] = event
        return Submitted(len(self.events), duplicate=False, flagged=False)

    async def source_down(self, source: str, reason: str, wall_ns: int) -> None:
        if source not in self._down:
            self._down.add(source)
            self.health.append((source, "down", reason))

    async def source_up(self, source: str, wall_ns: int) -> None:
        if source in self._down:
            self._down.discard(source)
            self.health.append((source, "up", None))

    async def load_cursor(self, source: str) -> str | None:
        return self.cursors.get(source)

    async def save_cursor(self, source: str, cursor: str) -> None:
        self.cursors[source] = cursor

    def ids(self) -> set[str]:
        return {e.event_id for e in self.events.values()}


class MemoryFeed:
    """An AlertFeed whose alerts the test pushes."""

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[Alert]] = []

    def push(self, alert: Alert) -> None:
        for queue in self._queues:
            queue.put_nowait(alert)

    async def subscribe(self) -> AsyncIterator[Alert]:
        queue: asyncio.Queue[Alert] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)


async def eventually(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)
