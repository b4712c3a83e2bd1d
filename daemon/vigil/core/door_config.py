"""The site's door settings as values: the door map (`[[doors]]`) and the flag rules
(`[door_events.rules]`). Pure; read from the TOML by vigil.config, used by core.door_map and
core.door_rules."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.door_events import Direction, DoorEventKind

DEFAULT_PRE_S = 30.0
DEFAULT_POST_S = 60.0
# Kinds that are flagged on their own (the site may narrow or widen the list).
DEFAULT_FLAG_KINDS = (DoorEventKind.ACCESS_DENIED, DoorEventKind.DOOR_FORCED_OPEN, DoorEventKind.DOOR_HELD_OPEN,
                      DoorEventKind.DURESS, DoorEventKind.TAMPER)


@dataclass(frozen=True)
class AccessPointConfig:
    source: str  # the adapter instance (webhook, mqtt, onguard, ...)
    id: str  # the access point's id in that source system
    direction: Direction = Direction.BOTH


@dataclass(frozen=True)
class DoorConfig:
    id: str
    name: str
    building: str
    cameras: tuple[str, ...]
    access_points: tuple[AccessPointConfig, ...]
    cameras_in: tuple[str, ...] = ()  # when set, entries (direction "in") link these instead of `cameras`
    cameras_out: tuple[str, ...] = ()
    pre_s: float = DEFAULT_PRE_S
    post_s: float = DEFAULT_POST_S

    def cameras_for(self, direction: Direction) -> tuple[str, ...]:
        if direction is Direction.IN and self.cameras_in:
            return self.cameras_in
        if direction is Direction.OUT and self.cameras_out:
            return self.cameras_out
        if direction is Direction.BOTH:
            return tuple(dict.fromkeys((*self.cameras, *self.cameras_in, *self.cameras_out)))
        return self.cameras


@dataclass(frozen=True)
class FlagRulesConfig:
    kinds: frozenset[DoorEventKind] = frozenset(DEFAULT_FLAG_KINDS)
    repeat_denials: int = 3  # this many denials at one door, or by one credential ...
    repeat_window_s: float = 60.0  # ... within this many seconds
    denied_then_forced_s: float = 30.0  # a denial followed by forced open at the same door within this
    offline_after_s: float = 120.0  # an adapter down this long is flagged
