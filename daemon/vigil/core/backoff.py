"""Reconnect backoff: exponential with full jitter, first retry quick, capped.

Pure: the caller supplies the random fraction, so tests are deterministic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    first_delay_s: float = 0.5
    # Low, so a camera is back within seconds of its return; a refused connect costs little.
    max_delay_s: float = 4.0
    factor: float = 2.0
    # A connection that stayed up this long resets the attempt counter.
    healthy_after_s: float = 30.0

    def delay_s(self, attempt: int, jitter_fraction: float) -> float:
        """Delay before retry number `attempt` (0 = first retry).

        `jitter_fraction` in [0, 1) spreads retries of many cameras over the upper half of the
        nominal delay, so the first retry always happens within `first_delay_s`."""
        if attempt < 0:
            raise ValueError("attempt must be >= 0")
        nominal = min(self.max_delay_s, self.first_delay_s * self.factor**attempt)
        return nominal * (0.5 + 0.5 * min(max(jitter_fraction, 0.0), 1.0))

    def next_attempt(self, attempt: int, connected_for_s: float) -> int:
        """The attempt number after a session that lasted `connected_for_s` ended."""
        return 0 if connected_for_s >= self.healthy_after_s else attempt + 1
