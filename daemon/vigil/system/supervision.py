"""Supervision by systemd: READY once storage is verified and the API listens, STATUS lines,
WATCHDOG pings only while the event loop and every recorder make progress, STOPPING on the way
out (design/appliance.md "Supervision").

The pinger is a thread, not a task: a wedged event loop cannot ping for itself, and its
heartbeat (a callback re-armed every second) going stale is what stops the pings."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from vigil.core.watchdog import WatchdogTiming, watchdog_verdict
from vigil.system.sd_notify import Notifier

log = logging.getLogger(__name__)

LOOP_BEAT_S = 1.0
STATUS_INTERVAL_S = 5.0


class Beating(Protocol):
    """A recorder as the watchdog sees it."""

    @property
    def name(self) -> str: ...

    heartbeat_monotonic: float
    finished: threading.Event


def recorder_beats(recorders: Iterable[Beating]) -> dict[str, float]:
    """Heartbeats of the recorders still running (a finished one cannot wedge)."""
    return {r.name: r.heartbeat_monotonic for r in recorders if not r.finished.is_set()}


class Supervisor:
    def __init__(self, notifier: Notifier, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.notifier = notifier
        self.monotonic = monotonic
        usec = notifier.watchdog_usec
        self.timing = None if usec is None else WatchdogTiming.from_usec(usec)
        self._loop_beat_s = monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._beat_handle: asyncio.TimerHandle | None = None
        self._recorders: Callable[[], Mapping[str, float]] = dict
        self._status: Callable[[], str] = lambda: "starting"
        self._last_status: str | None = None
        self._healthy = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pings = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the loop heartbeat and the pinger (if systemd asked for a watchdog or listens)."""
        if not self.notifier.enabled:
            return
        self._loop = loop
        self._beat()
        if self.timing is not None:
            log.info("systemd watchdog: pinging every %.1f s while healthy (a stall is %.0f s without progress)",
                     self.timing.ping_interval_s, self.timing.stall_after_s)
        self._thread = threading.Thread(target=self._run, name="sd-notify", daemon=True)
        self._thread.start()

    def watch(self, recorders: Callable[[], Mapping[str, float]], status: Callable[[], str]) -> None:
        self._recorders = recorders
        self._status = status

    def ready(self) -> None:
        status = self._status()
        self._last_status = status
        self.notifier.ready(status)
        log.info("ready: %s", status)

    def refresh_status(self) -> None:
        status = self._status()
        if status != self._last_status:
            self._last_status = status
            self.notifier.status(status)

    def failed(self, reason: str) -> None:
        self.notifier.status(f"not running: {reason.splitlines()[0]}")

    def stopping(self) -> None:
        self.notifier.stopping()

    def stop(self) -> None:
        self._stop.set()
        if self._beat_handle is not None:
            self._beat_handle.cancel()
            self._beat_handle = None
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self.notifier.close()

    def _beat(self) -> None:
        self._loop_beat_s = self.monotonic()
        if self._loop is not None and not self._stop.is_set():
            self._beat_handle = self._loop.call_later(LOOP_BEAT_S, self._beat)

    def _run(self) -> None:
        next_ping_s = self.monotonic()
        while not self._stop.is_set():
            now_s = self.monotonic()
            if self.timing is not None and now_s >= next_ping_s:
                self.tick(now_s)
                next_ping_s = now_s + self.timing.ping_interval_s
            if self._last_status is not None:  # after READY
                self.refresh_status()
            wait_s = STATUS_INTERVAL_S
            if self.timing is not None:
                wait_s = min(wait_s, max(0.05, next_ping_s - self.monotonic()))
            self._stop.wait(wait_s)

    def tick(self, now_s: float) -> bool:
        """One watchdog decision: ping if healthy; log the reason once when it stops being so."""
        assert self.timing is not None
        verdict = watchdog_verdict(now_s, self._loop_beat_s, self._recorders(), self.timing.stall_after_s)
        if verdict.healthy:
            if not self._healthy:
                log.warning("watchdog: healthy again; pinging systemd again")
            self._healthy = True
            self.pings += self.notifier.watchdog()
            return True
        if self._healthy:
            self._healthy = False
            log.error("watchdog: %s; no longer pinging systemd, which will restart vigil", verdict.reason)
        return False
