"""The login throttle's decisions (pure): reservations bound the checks in flight, failures lock."""

from __future__ import annotations

from vigil.core.ratelimit import LoginThrottle, Outcome

KEYS = ("remote:10.0.0.9", "user:ann@10.0.0.9")


def test_reservations_in_flight_count_against_the_limit() -> None:
    throttle = LoginThrottle(max_failures=3)
    attempts = [throttle.begin(KEYS, 0.0) for _ in range(5)]
    assert [a is not None for a in attempts] == [True, True, True, False, False]
    first, second, third = attempts[:3]
    assert first is not None and second is not None and third is not None
    assert throttle.finish(first, False, 1.0) is Outcome.FAILED
    assert throttle.begin(KEYS, 1.0) is None  # one failure + two in flight = 3
    assert throttle.finish(second, False, 1.0) is Outcome.FAILED
    assert throttle.finish(third, False, 1.0) is Outcome.LOCKED
    assert throttle.begin(KEYS, 2.0) is None and throttle.locked(KEYS, 2.0)
    assert throttle.begin(KEYS, 1.0 + 900.0) is not None  # the lockout ends


def test_success_frees_its_slot_and_clears_failures() -> None:
    throttle = LoginThrottle(max_failures=2)
    a = throttle.begin(KEYS, 0.0)
    assert a is not None and throttle.finish(a, False, 0.0) is Outcome.FAILED
    b = throttle.begin(KEYS, 0.0)
    assert b is not None and throttle.finish(b, True, 0.0) is Outcome.OK
    for _ in range(2):  # the failure before the success no longer counts
        c = throttle.begin(KEYS, 0.0)
        assert c is not None
        throttle.finish(c, False, 0.0)
    assert throttle.locked(KEYS, 0.0)


def test_a_shared_address_key_limits_every_account_behind_it() -> None:
    throttle = LoginThrottle(max_failures=2)
    held = [throttle.begin(("remote:a", f"user:{n}@a"), 0.0) for n in ("x", "y", "z")]
    assert [h is not None for h in held] == [True, True, False]


def test_failures_outside_the_window_expire() -> None:
    throttle = LoginThrottle(max_failures=2, window_s=10.0)
    a = throttle.begin(KEYS, 0.0)
    assert a is not None and throttle.finish(a, False, 0.0) is Outcome.FAILED
    b = throttle.begin(KEYS, 11.0)
    assert b is not None and throttle.finish(b, False, 11.0) is Outcome.FAILED  # the first one expired
