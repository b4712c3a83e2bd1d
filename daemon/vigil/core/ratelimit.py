"""Login throttling: after `max_failures` failed logins within `window_s` for one account or one
client address, that key is locked for `lockout_s`. Pure: time is an argument."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class LoginThrottle:
    max_failures: int = 5
    window_s: float = 300.0
    lockout_s: float = 900.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)

    def locked(self, keys: tuple[str, ...], now_s: float) -> bool:
        return any(self._locked_until.get(k, 0.0) > now_s for k in keys)

    def failed(self, keys: tuple[str, ...], now_s: float) -> bool:
        """Record a failure; True when it locks one of the keys."""
        locked = False
        for key in keys:
            recent = self._failures.setdefault(key, deque())
            recent.append(now_s)
            while recent and recent[0] <= now_s - self.window_s:
                recent.popleft()
            if len(recent) >= self.max_failures:
                self._locked_until[key] = now_s + self.lockout_s
                recent.clear()
                locked = True
        return locked

    def succeeded(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self._failures.pop(key, None)
