"""The pure rules for waiting on a busy index: budgets per caller, retry schedule, queue bound."""

from __future__ import annotations

from vigil.core.backoff import BackoffPolicy
from vigil.core.index_wait import IndexWaitPolicy, RetryState, accepts

POLICY = IndexWaitPolicy(loop_wait_s=1.0, loop_probe_wait_s=0.05, cooldown_s=5.0, pending_limit=3,
                         retry=BackoffPolicy(first_delay_s=0.25, max_delay_s=2.0))


def test_loop_waits_its_budget_until_the_index_was_found_busy_then_only_probes() -> None:
    assert POLICY.loop_wait(100.0, None) == 1.0
    assert POLICY.loop_wait(100.0, 99.0) == 0.05  # busy a second ago: a short probe
    assert POLICY.loop_wait(100.0, 95.0) == 1.0  # the cooldown is over: the full budget again
    assert POLICY.loop_wait(100.0, 95.01) == 0.05


def test_retry_backs_off_exponentially_to_the_cap_and_resets_on_success() -> None:
    state = RetryState()
    assert state.is_due(0.0)
    due = []
    now = 10.0
    for _ in range(6):
        state = state.after_busy(POLICY, now, jitter_fraction=1.0)  # the top of each jitter range
        due.append(round(state.due_s - now, 3))
        assert not state.is_due(now) and state.is_due(state.due_s)
    assert due == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert state.failures == 6
    low = RetryState().after_busy(POLICY, now, jitter_fraction=0.0)
    assert low.due_s - now == 0.125  # jitter spreads cameras over the upper half of the delay
    assert RetryState.after_success() == RetryState()


def test_the_queue_bound() -> None:
    assert accepts(0, POLICY) and accepts(2, POLICY)
    assert not accepts(3, POLICY) and not accepts(10, POLICY)
