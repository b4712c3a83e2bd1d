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

    max_keys: int = 10_000  # memory bound: the oldest entries go first

    def failed(self, keys: tuple[str, ...], now_s: float) -> bool:
        """Record a failure; True when it locks one of the keys."""
        self._prune(now_s)
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

    def _prune(self, now_s: float) -> None:
        for key in [k for k, until in self._locked_until.items() if until <= now_s]:
            del self._locked_until[key]
        for key in [k for k, recent in self._failures.items() if not recent or recent[-1] <= now_s - self.window_s]:
            del self._failures[key]
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self._failures.pop(key, None)
