"""Whether a trial boot of an update is healthy: the decision behind `vigil update trial-check`,
which `boot-complete.target` requires on a boot that systemd-boot is counting (design/appliance.md,
"Updates"). COMMIT lets systemd-bless-boot commit the slot; FAIL reboots, spending one of its tries;
after the last the old slot boots again.

Rules, in order (time as an argument):
1. vigil.service failed, or restarted `MAX_RESTARTS` times: FAIL (a daemon that cannot start).
2. Active (READY) with storage ok and a camera recording, or with no camera configured: COMMIT.
3. Active with the recording disk missing or foreign: WAIT (the disk may be slow to appear); at
   the deadline FAIL, since nothing proves this version records.
4. Active, storage ok, cameras up but none recording: WAIT; at the deadline FAIL (this version
   receives video and does not record it).
5. Active, storage ok, no camera up: WAIT; at the deadline COMMIT with a warning: cameras out of
   reach (a switch, PoE) are not the update's fault, and rolling back would not reach them either.
6. Not active yet: WAIT; at the deadline FAIL."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from vigil.core.hotplug import StorageState
from vigil.core.watchdog import parse_status_line

MAX_RESTARTS = 3


class Verdict(Enum):
    COMMIT = "commit"
    FAIL = "fail"
    WAIT = "wait"


@dataclass(frozen=True)
class DaemonView:
    """What systemd says of vigil.service (`systemctl show`)."""

    active_state: str  # active, activating, failed, ...
    restarts: int  # NRestarts
    status_text: str  # the daemon's STATUS= line (core/watchdog.status_line)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


def decide(view: DaemonView, elapsed_s: float, timeout_s: float) -> Decision:
    late = elapsed_s >= timeout_s
    if view.active_state == "failed" or view.restarts >= MAX_RESTARTS:
        return Decision(Verdict.FAIL, f"vigil.service {view.active_state} after {view.restarts} restarts")
    if view.active_state != "active":
        return Decision(Verdict.FAIL if late else Verdict.WAIT, f"vigil.service {view.active_state}, not ready")
    counts = parse_status_line(view.status_text)
    if counts is None:
        return Decision(Verdict.FAIL if late else Verdict.WAIT, f"no recording status yet ({view.status_text!r})")
    up, cameras, recording = counts.up, counts.cameras, counts.recording
    if counts.storage is not StorageState.OK:
        return Decision(Verdict.FAIL if late else Verdict.WAIT, f"storage: {counts.storage.value}")
    if recording > 0 or cameras == 0:
        return Decision(Verdict.COMMIT, f"ready: {view.status_text}")
    if up > 0:
        return Decision(Verdict.FAIL if late else Verdict.WAIT, f"{up} camera(s) up but none recording")
    if late:
        return Decision(Verdict.COMMIT, f"ready, but no camera is reachable ({cameras} configured): committing anyway")
    return Decision(Verdict.WAIT, f"no camera up yet ({cameras} configured)")
