"""Whether the daemon may tell systemd it is alive, and the one-line status it shows.

Pure: the caller measures (monotonic seconds of each heartbeat, camera counts) and acts on the
verdict (send WATCHDOG=1 or not, log the reasons once). A heartbeat older than `stall_after_s`
means that part is wedged: then no ping goes out and systemd restarts the service once
WatchdogSec= passes without one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from vigil.core.hotplug import StorageState

MIN_STALL_S = 2.0


@dataclass(frozen=True)
class WatchdogTiming:
    ping_interval_s: float  # half of WatchdogSec=, as sd_watchdog_enabled(3) advises
    stall_after_s: float  # a heartbeat older than this is a wedge

    @staticmethod
    def from_usec(watchdog_usec: int) -> WatchdogTiming:
        """Timing for $WATCHDOG_USEC; a stall is declared after half the period (at least 2 s) so
        that the missing pings still reach systemd's limit."""
        half_s = watchdog_usec / 2_000_000
        return WatchdogTiming(ping_interval_s=half_s, stall_after_s=max(half_s, MIN_STALL_S))


@dataclass(frozen=True)
class WatchdogVerdict:
    healthy: bool
    stalled: tuple[str, ...] = ()  # "event loop", "recorder cam-1/main (12 s)", ...

    @property
    def reason(self) -> str:
        return "healthy" if self.healthy else "no progress from " + ", ".join(self.stalled)


def watchdog_verdict(now_s: float, loop_beat_s: float, recorder_beats_s: Mapping[str, float],
                     stall_after_s: float) -> WatchdogVerdict:
    """Healthy only when the event loop and every running recorder beat within `stall_after_s`."""
    stalled = []
    if now_s - loop_beat_s > stall_after_s:
        stalled.append(f"event loop ({now_s - loop_beat_s:.0f} s)")
    for name in sorted(recorder_beats_s):
        age_s = now_s - recorder_beats_s[name]
        if age_s > stall_after_s:
            stalled.append(f"recorder {name} ({age_s:.0f} s)")
    return WatchdogVerdict(not stalled, tuple(stalled))


@dataclass(frozen=True)
class StatusCounts:
    cameras: int
    up: int
    recording: int
    storage: StorageState
    storage_path: str


def status_line(counts: StatusCounts) -> str:
    """The STATUS= line `systemctl status vigil` shows."""
    storage = {
        StorageState.OK: f"storage ok ({counts.storage_path})",
        StorageState.MISSING: f"RECORDING DISK MISSING ({counts.storage_path}): not recording",
        StorageState.FOREIGN: f"FOREIGN DISK at {counts.storage_path} refused: not recording",
    }[counts.storage]
    return f"cameras: {counts.up}/{counts.cameras} up, {counts.recording} recording; {storage}"


_STATUS = re.compile(r"^cameras: (\d+)/(\d+) up, (\d+) recording; "
                     r"(?:storage ok \((.*)\)|RECORDING DISK MISSING \((.*)\)|FOREIGN DISK at (.*) refused)")


def parse_status_line(text: str) -> StatusCounts | None:
    """The counts back from a `status_line` (as `systemctl show -p StatusText` gives it); None for
    any other text (the daemon still starting)."""
    match = _STATUS.match(text)
    if match is None:
        return None
    up, cameras, recording = int(match[1]), int(match[2]), int(match[3])
    storage = (StorageState.OK if match[4] is not None else
               StorageState.MISSING if match[5] is not None else StorageState.FOREIGN)
    path = next(m for m in (match[4], match[5], match[6]) if m is not None)
    return StatusCounts(cameras, up, recording, storage, path)
