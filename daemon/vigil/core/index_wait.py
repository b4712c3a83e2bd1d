"""How long each user of the SQLite index may wait for it, and when a deferred write is retried.

Another process (a `vigil` command, a backup, an operator's `sqlite3` shell) may hold the index's
write lock for a long time. The rules (design/storage.md, "A busy index"):

- A call made on the event loop never waits longer than `loop_wait_s` for the index (our own lock
  plus SQLite's busy timeout); it then fails with IndexBusyError, which the API answers with 503
  and `Retry-After: retry_after_s`. After the index was found busy, calls on the loop wait only
  `loop_probe_wait_s` until one succeeds or `cooldown_s` passed: a locked index costs each request
  one short probe, not a busy timeout each.
- Other threads (CLI commands, retention, the export worker, door-event storage) wait up to
  `thread_wait_s` per call, then get IndexBusyError and retry at their next turn.
- Recorder and camera-event writes are queued (at most `pending_limit` per camera) and applied in
  order; one attempt waits at most `attempt_wait_s`, and a failed attempt is retried after the
  `retry` backoff (attempt number = consecutive failures), so the files keep being written.

Pure: times are passed in (monotonic seconds), the jitter fraction too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigil.core.backoff import BackoffPolicy


@dataclass(frozen=True)
class IndexWaitPolicy:
    loop_wait_s: float = 1.0
    loop_probe_wait_s: float = 0.05
    cooldown_s: float = 5.0
    thread_wait_s: float = 5.0
    attempt_wait_s: float = 0.25
    retry_after_s: int = 2
    pending_limit: int = 2048
    retry: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(first_delay_s=0.25, max_delay_s=2.0))

    def loop_wait(self, now_s: float, busy_since_s: float | None) -> float:
        """The wait budget of one call on the event loop, given when the index was last found busy
        (None: not since the last success)."""
        if busy_since_s is not None and now_s - busy_since_s < self.cooldown_s:
            return self.loop_probe_wait_s
        return self.loop_wait_s


@dataclass(frozen=True)
class RetryState:
    """Consecutive failed attempts of a write queue and when the next one is due."""

    failures: int = 0
    due_s: float = 0.0

    def is_due(self, now_s: float) -> bool:
        return now_s >= self.due_s

    def after_busy(self, policy: IndexWaitPolicy, now_s: float, jitter_fraction: float) -> RetryState:
        """The state after an attempt at `now_s` found the index busy."""
        return RetryState(self.failures + 1, now_s + policy.retry.delay_s(self.failures, jitter_fraction))

    @staticmethod
    def after_success() -> RetryState:
        return RetryState()


def accepts(queued: int, policy: IndexWaitPolicy) -> bool:
    """Whether a write queue holding `queued` writes takes one more. A full queue drops new writes
    (counted and logged); the files they describe are indexed by startup recovery."""
    return queued < policy.pending_limit
