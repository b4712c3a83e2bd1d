"""A camera's up/down state: which changes are worth an event and a log line.

One outage is one "camera_down" event, carrying the reason that started it; the failed
reconnects that follow produce nothing new (warn once, info on recovery). The "camera_up" event
that ends an outage carries its length."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from vigil.core.media import DownReason


class CameraState(enum.Enum):
    STARTING = "starting"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class Transition:
    kind: str  # "camera_up" or "camera_down": the event kind recorded in the index
    reason: DownReason | None
    wall_ns: int
    down_for_ns: int | None  # set on "camera_up" after an outage


class CameraHealth:
    def __init__(self) -> None:
        self.state = CameraState.STARTING
        self.reason: DownReason | None = None
        self.down_since_ns: int | None = None

    def connected(self, now_wall_ns: int) -> Transition:
        down_for = None if self.down_since_ns is None else now_wall_ns - self.down_since_ns
        self.state, self.reason, self.down_since_ns = CameraState.UP, None, None
        return Transition("camera_up", None, now_wall_ns, down_for)

    def failed(self, reason: DownReason, now_wall_ns: int) -> Transition | None:
        """A failed session or connect attempt; a Transition only when it starts an outage."""
        self.reason = reason
        if self.state is CameraState.DOWN:
            return None
        self.state, self.down_since_ns = CameraState.DOWN, now_wall_ns
        return Transition("camera_down", reason, now_wall_ns, None)
