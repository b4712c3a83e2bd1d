"""Telling a repeat from a new occurrence: a key seen again within `window_ns` of its last sighting
is a repeat. Used to audit a clip download once, not once per Range request of the same player.
Pure: time is an argument; memory is bounded (the least recently seen keys are forgotten first,
which can only make something count as new, never hide a new occurrence)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

CLIP_AUDIT_WINDOW_NS = 10 * 60 * 1_000_000_000


@dataclass
class RepeatWindow:
    window_ns: int = CLIP_AUDIT_WINDOW_NS
    max_keys: int = 10_000
    _last_seen_ns: OrderedDict[Hashable, int] = field(default_factory=OrderedDict)

    def is_new(self, key: Hashable, now_ns: int) -> bool:
        """True unless key was seen less than window_ns ago; either way it counts as seen now."""
        last = self._last_seen_ns.pop(key, None)
        self._last_seen_ns[key] = now_ns
        while len(self._last_seen_ns) > self.max_keys:
            self._last_seen_ns.popitem(last=False)
        return last is None or not 0 <= now_ns - last < self.window_ns
