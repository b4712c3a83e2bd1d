"""Retention planner: properties over random recordings, holds and budgets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.retention import DiskState, Hold, RetentionPolicy, SegmentUsage, incoming_bytes, plan_retention

NOW = 10_000 * 1_000_000_000
MINUTE = 60 * 1_000_000_000


@st.composite
def recordings(draw: st.DrawFn) -> list[SegmentUsage]:
    count = draw(st.integers(0, 40))
    out = []
    for i in range(count):
        start = draw(st.integers(0, NOW - MINUTE))
        out.append(SegmentUsage(i, draw(st.sampled_from(["a", "b"])), start, start + MINUTE,
                                draw(st.integers(1, 1000))))
    return out


holds_strategy = st.lists(
    st.builds(
        lambda cam, start, length, until: Hold(cam, start, start + length, until),
        st.sampled_from([None, "a", "b"]),
        st.integers(0, NOW),
        st.integers(1, 5 * MINUTE),
        st.one_of(st.none(), st.integers(0, 2 * NOW)),
    ),
    max_size=4,
)


@settings(max_examples=300)
@given(recordings(), holds_strategy, st.one_of(st.none(), st.integers(0, 30_000)), st.integers(0, 20_000),
       st.integers(0, 20_000), st.one_of(st.none(), st.floats(0.01, 0.2)))
def test_plan_properties(segments: list[SegmentUsage], holds: list[Hold], max_bytes: int | None, free: int,
                         min_free: int, retain_days: float | None) -> None:
    policy = RetentionPolicy(max_bytes=max_bytes, retain_days=retain_days, min_free_bytes=min_free, keep_newest_s=0)
    plan = plan_retention(segments, holds, policy, DiskState(free_bytes=free, incoming_bytes=0), NOW)
    by_id = {s.id: s for s in segments}
    deleted = [by_id[i] for i in plan.delete_ids]
    kept = [s for s in segments if s.id not in plan.delete_ids]
    # Never a held segment.
    assert not any(h.covers(s, NOW) for s in deleted for h in holds)
    # No segment twice; bytes add up.
    assert len(set(plan.delete_ids)) == len(plan.delete_ids)
    assert plan.freed_bytes == sum(s.size_bytes for s in deleted)
    # Every unheld segment past the age limit goes.
    if policy.retain_ns is not None:
        for s in kept:
            assert s.end_wall_ns > NOW - policy.retain_ns or any(h.covers(s, NOW) for h in holds)
    # Budgets are met, or else every unheld segment is gone and the shortfall is reported.
    remaining = sum(s.size_bytes for s in kept)
    need_free = min_free - free
    unheld_left = [s for s in kept if not any(h.covers(s, NOW) for h in holds)]
    meets = (max_bytes is None or remaining <= max_bytes) and free + plan.freed_bytes >= min_free
    assert meets or (not unheld_left and plan.shortfall_bytes > 0)
    if meets:
        assert plan.shortfall_bytes == 0
    # Space is taken oldest first: apart from age deletions, a deleted unheld segment is never newer
    # than a kept unheld one.
    if deleted and unheld_left and (max_bytes is not None or need_free > 0):
        by_space = [s for s in deleted if policy.retain_ns is None or s.end_wall_ns > NOW - policy.retain_ns]
        if by_space:
            assert max(s.start_wall_ns for s in by_space) <= min(s.start_wall_ns for s in unheld_left)


def test_nothing_to_do_when_within_budget() -> None:
    segs = [SegmentUsage(1, "a", 0, MINUTE, 100)]
    plan = plan_retention(segs, [], RetentionPolicy(1000, None, 0), DiskState(10_000, 0), NOW)
    assert plan.delete_ids == () and plan.shortfall_bytes == 0 and plan.total_bytes == 100


def test_expired_hold_no_longer_protects() -> None:
    segs = [SegmentUsage(1, "a", 0, MINUTE, 100), SegmentUsage(2, "a", MINUTE, 2 * MINUTE, 100)]
    released = Hold("a", 0, MINUTE, until_wall_ns=NOW - 1)
    active = Hold(None, MINUTE, 2 * MINUTE, until_wall_ns=None)
    plan = plan_retention(segs, [released, active], RetentionPolicy(0, None, 0, keep_newest_s=0), DiskState(10_000, 0),
                          NOW)
    assert plan.delete_ids == (1,)
    assert plan.held_bytes == 100 and plan.shortfall_bytes == 100


def test_incoming_bytes_make_room_ahead() -> None:
    segs = [SegmentUsage(i, "a", i * MINUTE, (i + 1) * MINUTE, 100) for i in range(5)]
    plan = plan_retention(segs, [], RetentionPolicy(None, None, 1000, keep_newest_s=0),
                          DiskState(900, incoming_bytes=250), NOW)
    assert plan.delete_ids == (0, 1, 2, 3)


def test_headroom_follows_the_measured_rate() -> None:
    assert incoming_bytes(None, cameras=2, interval_s=10) == 2 * 500_000 * 10 * 3
    assert incoming_bytes(1_000, cameras=2, interval_s=10) == 3_000


def _two_cameras(minutes: int, size: int = 100) -> list[SegmentUsage]:
    return [SegmentUsage(i * 2 + n, cam, NOW - (minutes - i) * MINUTE, NOW - (minutes - i - 1) * MINUTE, size)
            for i in range(minutes) for n, cam in enumerate(("a", "b"))]


def test_an_impossible_budget_keeps_each_cameras_newest_minutes_and_says_so() -> None:
    """min_free_bytes larger than the disk (issue 12, #7): before, every segment went seconds after
    it was written; now each camera keeps its newest 10 minutes, and the plan says the budget
    could not be met."""
    segs = _two_cameras(30)
    policy = RetentionPolicy(None, None, min_free_bytes=1 << 30)
    plan = plan_retention(segs, [], policy, DiskState(free_bytes=50_000, incoming_bytes=1_000), NOW)
    kept = [s for s in segs if s.id not in plan.delete_ids]
    assert {s.camera_id for s in kept} == {"a", "b"}
    for cam in ("a", "b"):
        newest = [s for s in kept if s.camera_id == cam]
        assert len(newest) == 10 and max(s.end_wall_ns for s in newest) == NOW  # the last 10 minutes
    assert plan.kept_newest_bytes == 20 * 100 and plan.newest_deleted == 0
    assert plan.shortfall_bytes > 0  # still short of the (impossible) budget
    # max_bytes too small for the newest minutes: the same rule.
    tiny = plan_retention(segs, [], RetentionPolicy(150, None, 0), DiskState(10**9, 0), NOW)
    assert len(segs) - len(tiny.delete_ids) == 20 and tiny.kept_newest_bytes > 0


def test_only_the_disk_itself_takes_the_newest_minutes_oldest_first() -> None:
    segs = _two_cameras(10)  # nothing but the newest 10 minutes of each camera
    policy = RetentionPolicy(None, None, min_free_bytes=1 << 30)
    # The disk lacks 250 bytes for the bytes expected before the next rounds: recording would hit ENOSPC.
    plan = plan_retention(segs, [], policy, DiskState(free_bytes=750, incoming_bytes=1_000), NOW)
    assert plan.newest_deleted == 3 and plan.freed_bytes == 300
    oldest_first = sorted(segs, key=lambda s: (s.start_wall_ns, s.id))
    assert set(plan.delete_ids) == {s.id for s in oldest_first[:3]}
    # With room for the next rounds, nothing of them goes.
    calm = plan_retention(segs, [], policy, DiskState(free_bytes=5_000, incoming_bytes=1_000), NOW)
    assert calm.delete_ids == () and calm.kept_newest_bytes == 2_000


@settings(max_examples=200)
@given(recordings(), holds_strategy, st.one_of(st.none(), st.integers(0, 30_000)), st.integers(0, 20_000),
       st.integers(0, 20_000), st.integers(0, 5_000), st.sampled_from([0.0, 60.0, 300.0, 600.0]))
def test_newest_minutes_go_only_for_room_the_disk_lacks(segments: list[SegmentUsage], holds: list[Hold],
                                                         max_bytes: int | None, free: int, min_free: int,
                                                         incoming: int, keep_newest_s: float) -> None:
    policy = RetentionPolicy(max_bytes, None, min_free, keep_newest_s)
    plan = plan_retention(segments, holds, policy, DiskState(free, incoming), NOW)
    newest_end = {s.camera_id: max(x.end_wall_ns for x in segments if x.camera_id == s.camera_id) for s in segments}
    newest = {s.id for s in segments if s.end_wall_ns > newest_end[s.camera_id] - keep_newest_s * 1e9}
    deleted_newest = [i for i in plan.delete_ids if i in newest]
    assert len(deleted_newest) == plan.newest_deleted
    if deleted_newest:
        assert free < incoming  # only when recording would otherwise run out of room
        by_id = {s.id: s for s in segments}
        # ... and no more than that room needs: without the last one deleted, there was not enough.
        assert plan.freed_bytes - by_id[deleted_newest[-1]].size_bytes < incoming - free
