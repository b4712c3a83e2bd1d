"""Login throttling: after `max_failures` failed logins within `window_s` for one account or one
client address, that key is locked for `lockout_s`. Pure: time is an argument.

The limit holds under any concurrency. A password check is slow (Argon2id, on a worker thread), so
an attempt is *reserved* before it starts (`begin`) and settled when it ends (`finish`):

- `begin` refuses (returns None) when a key is locked, or when the key's recent failures plus its
  attempts still being checked already reach `max_failures`. So at most `max_failures` password
  checks per key are counted or in flight at any moment, whatever the number of parallel requests.
- `finish` turns the reservation into a failure (which may lock the key) or a success (which
  clears the key's failures). A correct password is refused when one of its keys is locked by then.
- An attempt that never learns its result (the request was cancelled) is settled as a failure, so
  cancelling requests cannot buy extra guesses.

Refused attempts are not counted again: a locked client cannot extend its own lock or grow the
audit log."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field


class Outcome(enum.Enum):
    OK = "ok"  # the password was right and no key is locked
    FAILED = "failed"  # counted; the keys are not locked (yet)
    LOCKED = "locked"  # refused: this failure locked a key, or a key was locked already


@dataclass(frozen=True)
class Attempt:
    """One reserved login attempt: the keys it counts against."""

    keys: tuple[str, ...]


@dataclass
class LoginThrottle:
    max_failures: int = 5
    window_s: float = 300.0
    lockout_s: float = 900.0
    max_keys: int = 10_000  # memory bound for the failure history: the oldest entries go first
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _pending: dict[str, int] = field(default_factory=dict)  # attempts being checked, per key

    def locked(self, keys: tuple[str, ...], now_s: float) -> bool:
        return any(self._locked_until.get(k, 0.0) > now_s for k in keys)

    def begin(self, keys: tuple[str, ...], now_s: float) -> Attempt | None:
        """Reserve an attempt, or None when it must be refused (locked, or `max_failures` failures
        and checks in flight already)."""
        self._prune(now_s)
        if self.locked(keys, now_s):
            return None
        if any(self._recent(k, now_s) + self._pending.get(k, 0) >= self.max_failures for k in keys):
            return None
        for key in keys:
            self._pending[key] = self._pending.get(key, 0) + 1
        return Attempt(keys)

    def finish(self, attempt: Attempt, ok: bool, now_s: float) -> Outcome:
        """Settle a reserved attempt (call exactly once per `begin` that returned an Attempt)."""
        for key in attempt.keys:
            left = self._pending.get(key, 0) - 1
            if left > 0:
                self._pending[key] = left
            else:
                self._pending.pop(key, None)
        if ok:
            if self.locked(attempt.keys, now_s):
                return Outcome.LOCKED
            for key in attempt.keys:
                self._failures.pop(key, None)
            return Outcome.OK
        locked = False
        for key in attempt.keys:
            recent = self._failures.setdefault(key, deque())
            recent.append(now_s)
            self._trim(recent, now_s)
            if len(recent) >= self.max_failures:
                self._locked_until[key] = now_s + self.lockout_s
                recent.clear()
                locked = True
        return Outcome.LOCKED if locked or self.locked(attempt.keys, now_s) else Outcome.FAILED

    def _recent(self, key: str, now_s: float) -> int:
        recent = self._failures.get(key)
        if recent is None:
            return 0
        self._trim(recent, now_s)
        return len(recent)

    def _trim(self, recent: deque[float], now_s: float) -> None:
        while recent and recent[0] <= now_s - self.window_s:
            recent.popleft()

    def _prune(self, now_s: float) -> None:
        for key in [k for k, until in self._locked_until.items() if until <= now_s]:
            del self._locked_until[key]
        for key in [k for k, recent in self._failures.items() if not recent or recent[-1] <= now_s - self.window_s]:
            del self._failures[key]
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]
