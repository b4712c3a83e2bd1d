"""The storage report: per-camera and held bytes, the budget, and the warning thresholds."""

from __future__ import annotations

from vigil.core.retention import Hold, RetentionPolicy, SegmentUsage
from vigil.core.storage_report import DiskUsage, Level, budget_bytes, judge, storage_report

MIN = 60 * 1_000_000_000
NOW = 1000 * MIN


def _segs() -> list[SegmentUsage]:
    return [SegmentUsage(i, cam, i * MIN, (i + 1) * MIN, 100) for i, cam in enumerate("aabbab")]


def test_held_bytes_per_camera_and_filtered_listing() -> None:
    holds = [Hold("a", 0, 2 * MIN, None), Hold(None, 5 * MIN, 6 * MIN, None),
             Hold("b", 2 * MIN, 4 * MIN, until_wall_ns=NOW - 1)]  # expired: protects nothing
    report = storage_report([DiskUsage("/r", 10_000, 5_000)], _segs(), holds,
                            RetentionPolicy(max_bytes=None, retain_days=None, min_free_bytes=1000), NOW,
                            visible_cameras=["a", "c"])
    assert report.recorded_bytes == 600 and report.held_bytes == 300  # a:0,1 and b:5 (the every-camera hold)
    assert [(c.camera_id, c.recorded_bytes, c.held_bytes, c.segment_count) for c in report.cameras] == [
        ("a", 300, 200, 3), ("c", 0, 0, 0)]
    assert report.cameras[0].oldest_wall_ns == 0 and report.cameras[0].newest_wall_ns == 5 * MIN
    assert report.budget_bytes == 600 + 5_000 - 1000
    assert report.warning.level is Level.OK


def test_budget_is_max_bytes_or_what_the_disk_can_give() -> None:
    assert budget_bytes(RetentionPolicy(1000, None, 0), 500, 10_000) == 1000
    assert budget_bytes(RetentionPolicy(None, None, 100), 500, 1_000) == 1_400
    assert budget_bytes(RetentionPolicy(None, None, 5_000), 500, 1_000) == 0


def test_warning_levels_follow_the_held_share_of_the_budget() -> None:
    assert judge(49, 100, 10, 0).level is Level.OK
    assert judge(50, 100, 10, 0).level is Level.WARNING
    assert judge(79, 100, 10, 0).level is Level.WARNING
    critical = judge(80, 100, 10, 0)
    assert critical.level is Level.CRITICAL and "release holds" in critical.message
    assert judge(0, 0, 0, 10).level is Level.CRITICAL
    low_free = judge(0, 100, 5, 10)
    assert low_free.level is Level.WARNING and "min_free_bytes" in low_free.message


def test_report_warns_before_holds_fill_a_small_budget() -> None:
    holds = [Hold(None, 0, 4 * MIN, None)]  # 4 of 6 segments held
    report = storage_report([DiskUsage("/r", 10**9, 10**8)], _segs(), holds, RetentionPolicy(700, None, 0), NOW)
    assert report.held_bytes == 400 and report.budget_bytes == 700
    assert report.warning.level is Level.WARNING and report.warning.held_fraction == 400 / 700


def test_budget_problems_name_the_key() -> None:
    """Issue 12 #7: a budget that cannot hold footage is named by its key; only what is certain is impossible."""
    from vigil.core.storage_report import budget_problems

    mib = 1 << 20
    disk = 200 * mib
    (problem,) = budget_problems(disk, RetentionPolicy(None, None, 1_000_000_000), 1, 60)
    assert problem.impossible and problem.key == "storage.min_free_bytes" and "200 MiB" in problem.message
    (small,) = budget_problems(10**12, RetentionPolicy(1 * mib, None, 0), 4, 60)
    assert not small.impossible and small.key == "storage.max_bytes"  # estimated at ~4 Mb/s: a warning
    (tight,) = budget_problems(10**12, RetentionPolicy(500 * mib, None, 0), 4, 60)  # < 4 x 10 min at 4 Mb/s
    assert not tight.impossible and tight.key == "storage.max_bytes" and "newest 10 minutes" in tight.message
    assert budget_problems(10**12, RetentionPolicy(None, None, 1_000_000_000), 4, 60) == ()
    assert budget_problems(10**12, RetentionPolicy(500 * mib, None, 0, keep_newest_s=0), 4, 60) == ()
