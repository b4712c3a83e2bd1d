"""The soak's judges (tests/support/soak_checks.py) can fail: holes and resource growth are found."""

from __future__ import annotations

from tests.support.soak_checks import MIB, ProcSample, ResourceBounds, Span, resource_problems, timeline, uncovered

S = 1_000_000_000


def test_contiguous_segments_leave_no_hole() -> None:
    spans = [Span(0, 4 * S), Span(4 * S, 8 * S), Span(8 * S, 12 * S)]
    assert uncovered(spans, 1 * S, 11 * S) == []


def test_holes_between_segments_and_at_both_ends_of_the_window() -> None:
    spans = [Span(2 * S, 4 * S), Span(7 * S, 9 * S), Span(6 * S, 6 * S + S // 2)]
    assert uncovered(spans, 0, 12 * S) == [(0, 2 * S), (4 * S, 6 * S), (6 * S + S // 2, 7 * S), (9 * S, 12 * S)]


def test_a_long_segment_overlapping_others_does_not_hide_a_hole_after_it() -> None:
    spans = [Span(0, 10 * S), Span(2 * S, 3 * S), Span(13 * S, 20 * S)]
    assert uncovered(spans, 0, 20 * S) == [(10 * S, 13 * S)]


def test_segments_outside_the_window_do_not_count() -> None:
    assert uncovered([Span(0, 5 * S), Span(30 * S, 40 * S)], 10 * S, 20 * S) == [(10 * S, 20 * S)]


BOUNDS = ResourceBounds(fd_reserve=100, end_fd_headroom=10, peak_rss_headroom_bytes=200 * MIB,
                        end_rss_growth_bytes=50 * MIB)
WARM = ProcSample(0.0, 100 * MIB, 50, 1024)


def _during(rss_mib: list[int], fds: list[int]) -> list[ProcSample]:
    return [ProcSample(float(i), r * MIB, f, 1024) for i, (r, f) in enumerate(zip(rss_mib, fds, strict=True))]


def test_resources_within_bounds_pass() -> None:
    during = _during([150, 200, 180, 190], [60, 924, 90, 70])  # settled: 200 MiB, the first half's highest
    assert resource_problems(WARM, during, ProcSample(9.0, 240 * MIB, 55, 1024), BOUNDS) == []


def test_each_broken_resource_bound_is_named() -> None:
    during = _during([150, 160, 400, 190], [60, 925, 90, 70])
    problems = resource_problems(WARM, during, ProcSample(9.0, 211 * MIB, 61, 1024), BOUNDS)
    assert len(problems) == 4, problems
    assert problems[0].startswith("open files reached 925 of the 1024")
    assert problems[1].startswith("open files ended at 61")
    assert problems[2].startswith("RSS peaked at 400 MiB") and problems[3].startswith("RSS ended at 211 MiB")


def test_the_fd_reserve_follows_a_raised_limit() -> None:
    during = [ProcSample(0.0, 100 * MIB, 60, 1024), ProcSample(1.0, 100 * MIB, 1500, 65536)]
    assert resource_problems(WARM, during, ProcSample(9.0, 100 * MIB, 55, 65536), BOUNDS) == []


def test_timeline_spreads_its_points_over_the_samples() -> None:
    samples = [ProcSample(100.0 + i, (10 + i) * MIB, 40 + i, 1024) for i in range(21)]
    lines = timeline(samples, points=3).splitlines()
    assert [line.split()[0] for line in lines] == ["+0", "+10", "+20"]
    assert lines[-1].split()[2] == "60" and lines[-1].split()[5] == "30"


def test_without_an_end_sample_only_the_peaks_are_judged() -> None:
    during = _during([150, 160, 400, 190], [60, 925, 90, 70])
    problems = resource_problems(WARM, during, None, BOUNDS)
    assert len(problems) == 2, problems
    assert problems[0].startswith("open files reached 925") and problems[1].startswith("RSS peaked at 400 MiB")
