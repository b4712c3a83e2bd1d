"""Flag rules for door events: which events are raised to people and protect footage, and why.

Pure: time is an argument (the device's `occurred_wall_ns` for event rules, the appliance's clock
for the adapter-offline rule). `FlagRules` keeps only the short history the windowed rules need.
Rules (settings in `FlagRulesConfig`, editable by the site):
- a kind in `kinds` (default: access denied, forced open, held open, duress, tamper) is flagged;
- `repeat_denials` (3) denials at one door, or by one credential, within `repeat_window_s` (60 s);
- a denial followed by forced open at the same door within `denied_then_forced_s` (30 s);
- an adapter down for more than `offline_after_s` (120 s), evaluated by a periodic tick.
Windows look back from the event's own device time, so a late (backfilled) event is judged
against the events that happened before it, whatever order they arrived in."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

from vigil.core.door_config import FlagRulesConfig
from vigil.core.door_events import DoorEventKind
from vigil.core.timebase import NS_PER_SECOND

HISTORY_PER_KEY = 64  # denials remembered per door / credential (more than any window needs)
MAX_KEYS = 1024  # doors / credentials remembered before those outside every window are forgotten


class Severity(enum.IntEnum):
    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()


_KIND_SEVERITY = {
    DoorEventKind.ACCESS_DENIED: Severity.MEDIUM,
    DoorEventKind.DOOR_FORCED_OPEN: Severity.HIGH,
    DoorEventKind.DOOR_HELD_OPEN: Severity.MEDIUM,
    DoorEventKind.DURESS: Severity.CRITICAL,
    DoorEventKind.TAMPER: Severity.HIGH,
    DoorEventKind.DEVICE_OFFLINE: Severity.MEDIUM,
}


@dataclass(frozen=True)
class RuleInput:
    kind: DoorEventKind
    occurred_wall_ns: int
    door_id: str | None  # None: unmapped or not about a door
    credential_hash: str | None


@dataclass(frozen=True)
class Flagging:
    reasons: tuple[str, ...]
    severity: Severity

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)


NOT_FLAGGED = Flagging((), Severity.NONE)


def _count_within(times: deque[int], end_ns: int, window_ns: int) -> int:
    return sum(1 for t in times if end_ns - window_ns < t <= end_ns)


class FlagRules:
    def __init__(self, settings: FlagRulesConfig) -> None:
        self.settings = settings
        self._denials_by_door: dict[str, deque[int]] = {}
        self._denials_by_credential: dict[str, deque[int]] = {}

    def _remember(self, table: dict[str, deque[int]], key: str, wall_ns: int) -> deque[int]:
        if len(table) >= MAX_KEYS and key not in table:
            self._forget_older_than(table, wall_ns - round(self.lookback_s() * NS_PER_SECOND))
        times = table.setdefault(key, deque(maxlen=HISTORY_PER_KEY))
        times.append(wall_ns)
        return times

    @staticmethod
    def _forget_older_than(table: dict[str, deque[int]], cutoff_ns: int) -> None:
        """Drop doors/credentials whose newest denial is outside every window: memory stays bounded
        by the badges denied within the lookback, not by every badge ever denied."""
        for stale in [k for k, times in table.items() if max(times) < cutoff_ns]:
            del table[stale]

    def recall(self, event: RuleInput) -> None:
        """Remember an event judged before a restart, without judging it again, so the windowed
        rules see the denials of the last minute across a restart."""
        if event.kind is DoorEventKind.ACCESS_DENIED:
            if event.door_id is not None:
                self._remember(self._denials_by_door, event.door_id, event.occurred_wall_ns)
            if event.credential_hash is not None:
                self._remember(self._denials_by_credential, event.credential_hash, event.occurred_wall_ns)

    def lookback_s(self) -> float:
        """How far back the windowed rules look."""
        return max(self.settings.repeat_window_s, self.settings.denied_then_forced_s)

    def evaluate(self, event: RuleInput) -> Flagging:
        """Decide one event and remember what the windowed rules need of it."""
        s = self.settings
        reasons: list[str] = []
        severity = Severity.NONE
        if event.kind in s.kinds:
            reasons.append(event.kind.value)
            severity = _KIND_SEVERITY.get(event.kind, Severity.LOW)
        t = event.occurred_wall_ns
        repeat_ns = round(s.repeat_window_s * NS_PER_SECOND)
        if event.kind is DoorEventKind.ACCESS_DENIED:
            window = f"{s.repeat_window_s:g} s"
            if event.door_id is not None:
                times = self._remember(self._denials_by_door, event.door_id, t)
                if _count_within(times, t, repeat_ns) >= s.repeat_denials:
                    reasons.append(f"{s.repeat_denials}+ denials at this door within {window}")
                    severity = max(severity, Severity.HIGH)
            if event.credential_hash is not None:
                times = self._remember(self._denials_by_credential, event.credential_hash, t)
                if _count_within(times, t, repeat_ns) >= s.repeat_denials:
                    reasons.append(f"{s.repeat_denials}+ denials of this credential within {window}")
                    severity = max(severity, Severity.HIGH)
        if event.kind is DoorEventKind.DOOR_FORCED_OPEN and event.door_id is not None:
            denials = self._denials_by_door.get(event.door_id, deque())
            forced_ns = round(s.denied_then_forced_s * NS_PER_SECOND)
            if any(t - forced_ns <= d <= t for d in denials):
                reasons.append(f"forced open within {s.denied_then_forced_s:g} s of a denial")
                severity = Severity.CRITICAL
        return Flagging(tuple(reasons), severity) if reasons else NOT_FLAGGED


def adapter_offline(down_since_wall_ns: int, now_wall_ns: int, settings: FlagRulesConfig) -> Flagging:
    """The adapter-offline rule, for a source down since `down_since_wall_ns` (appliance clock)."""
    if now_wall_ns - down_since_wall_ns > round(settings.offline_after_s * NS_PER_SECOND):
        return Flagging((f"adapter offline for more than {settings.offline_after_s:g} s",), Severity.MEDIUM)
    return NOT_FLAGGED


def skew_is_large(skew_ns: int, threshold_s: float) -> bool:
    """Whether receive time minus device time (`NewDoorEvent.skew_ns`) is beyond the site's threshold."""
    return abs(skew_ns) > round(threshold_s * NS_PER_SECOND)
