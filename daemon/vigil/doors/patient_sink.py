"""A door-event sink for adapters that waits out a busy index.

The webhook answers a busy index with 503 and its sender retries; an MQTT message or a polled
OnGuard page has no one to retry it but the adapter. So adapters hand events to this sink, which
retries the store with the backoff of core/index_wait.py until it succeeds: an MQTT message is
acknowledged, and a poller's cursor moves, only once its events are stored."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from vigil.core.door_events import IncomingDoorEvent
from vigil.core.errors import IndexBusyError
from vigil.core.index_wait import IndexWaitPolicy, RetryState
from vigil.doors.sink import DoorEventSink, Submitted

log = logging.getLogger(__name__)

T = TypeVar("T")


class PatientSink:
    def __init__(self, inner: DoorEventSink, policy: IndexWaitPolicy) -> None:
        self.inner = inner
        self.policy = policy

    async def _patiently(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        retry = RetryState()
        while True:
            try:
                result = await call()
            except IndexBusyError as busy:
                if retry.failures == 0:
                    log.warning("door events: %s: %s; retrying until it is stored", what, busy)
                retry = retry.after_busy(self.policy, time.monotonic(), random.random())
                await asyncio.sleep(max(0.0, retry.due_s - time.monotonic()))
                continue
            if retry.failures:
                log.info("door events: %s stored after %d tries", what, retry.failures + 1)
            return result

    async def submit(self, event: IncomingDoorEvent, received_wall_ns: int) -> Submitted:
        return await self._patiently("an event", lambda: self.inner.submit(event, received_wall_ns))

    async def source_down(self, source: str, reason: str, wall_ns: int) -> None:
        await self._patiently(f"{source} down", lambda: self.inner.source_down(source, reason, wall_ns))

    async def source_up(self, source: str, wall_ns: int) -> None:
        await self._patiently(f"{source} up", lambda: self.inner.source_up(source, wall_ns))

    async def load_cursor(self, source: str) -> str | None:
        return await self._patiently(f"{source} cursor", lambda: self.inner.load_cursor(source))

    async def save_cursor(self, source: str, cursor: str) -> None:
        await self._patiently(f"{source} cursor", lambda: self.inner.save_cursor(source, cursor))
