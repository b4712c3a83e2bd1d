"""Merging segments, runs and events into a timeline: spans, gaps and their reasons."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from vigil.core.timeline import (
    MERGE_TOLERANCE_NS,
    CameraEvent,
    GapReason,
    HoldState,
    Recorded,
    RunEnd,
    SegmentSpan,
    coalesce,
    coverage,
    explain_gap,
    hold_state,
)

S = 1_000_000_000
NOW = 10_000 * S


def test_segments_of_a_run_coalesce_and_seams_under_a_second_are_not_gaps() -> None:
    segs = [SegmentSpan(0, 60 * S, 1), SegmentSpan(60 * S, 120 * S, 1), SegmentSpan(120 * S + S // 2, 180 * S, 2),
            SegmentSpan(200 * S, 260 * S, 3)]
    assert coalesce(segs, 0, 300 * S, NOW) == [Recorded(0, 180 * S, 3, 2, 1), Recorded(200 * S, 260 * S, 1, 3, 3)]


def test_spans_are_clipped_to_the_range_and_to_now() -> None:
    segs = [SegmentSpan(0, 60 * S, 1), SegmentSpan(60 * S, None, 1)]  # the second is being written
    assert coalesce(segs, 30 * S, 1000 * S, now_ns=90 * S) == [Recorded(30 * S, 90 * S, 2, 1, 1)]


def test_gap_reasons_from_run_ends_and_events() -> None:
    runs = [RunEnd(1, 100 * S, "timeout"), RunEnd(2, 300 * S, "shutdown"), RunEnd(3, 500 * S, "crash"),
            RunEnd(4, 700 * S, "overflow"), RunEnd(5, 900 * S, "error")]
    events = [CameraEvent("camera_down", 100 * S, "refused", None),
              CameraEvent("record_error", 900 * S, "error", "[Errno 28] No space left on device")]
    down = explain_gap(100 * S, 150 * S, runs, events)
    assert (down.reason, down.detail) == (GapReason.CAMERA_DOWN, "refused")  # the event names the first cause
    assert explain_gap(300 * S, 350 * S, runs, events).reason is GapReason.DAEMON_STOPPED
    assert explain_gap(500 * S, 550 * S, runs, events).reason is GapReason.DAEMON_CRASHED
    assert explain_gap(700 * S, 750 * S, runs, events).reason is GapReason.FELL_BEHIND
    full = explain_gap(900 * S, 950 * S, runs, events)
    assert full.reason is GapReason.DISK_FULL and "No space" in (full.detail or "")
    assert explain_gap(0, 50 * S, [], []).reason is GapReason.NOT_RECORDED
    # Inside a run that went on: recorded, then deleted by retention.
    assert explain_gap(20 * S, 50 * S, [RunEnd(9, None, None, 0)], [], next_run_id=9).reason is GapReason.DELETED
    assert explain_gap(20 * S, 50 * S, [RunEnd(9, None, None, 0)], [], previous_run_id=9).reason is GapReason.UNKNOWN
    assert explain_gap(0, 50 * S, [], [CameraEvent("camera_down", 10 * S, "auth", None)]).detail == "auth"
    # The recorder paused on a full index (issue 12 #3): its run and event say disk_full, whatever the detail.
    paused = explain_gap(100 * S, 150 * S, [RunEnd(1, 100 * S, "disk_full")],
                         [CameraEvent("record_error", 100 * S, "disk_full", "the disk of the index is full")])
    assert paused.reason is GapReason.DISK_FULL
    assert explain_gap(100 * S, 150 * S, [RunEnd(1, 100 * S, "disk_full")], []).reason is GapReason.DISK_FULL
    assert explain_gap(100 * S, 150 * S, [RunEnd(1, 100 * S, "write_error")], []).reason is GapReason.RECORD_ERROR


def test_coverage_tiles_the_range_with_reasoned_gaps() -> None:
    segs = [SegmentSpan(100 * S, 200 * S, 1), SegmentSpan(300 * S, 400 * S, 2)]
    runs = [RunEnd(1, 200 * S, "ended"), RunEnd(2, None, None)]  # run 2 never closed: no reason known
    cov = coverage(segs, runs, [], 0, 500 * S, NOW)
    assert [(g.start_wall_ns // S, g.end_wall_ns // S, g.reason) for g in cov.gaps] == [
        (0, 100, GapReason.NOT_RECORDED), (200, 300, GapReason.CAMERA_DOWN), (400, 500, GapReason.UNKNOWN)]


def test_an_open_segment_of_an_ended_run_is_not_recorded_up_to_now() -> None:
    """Open segments are queried right (issue 12): one being written counts up to now, but one
    whose run has ended (the recording disk went away) is not being written by anyone."""
    segs = [SegmentSpan(0, 60 * S, 1), SegmentSpan(60 * S, None, 1)]
    live = coverage(segs, [RunEnd(1, None, None, 0)], [], 0, 1000 * S, now_ns=500 * S)
    assert [(r.start_wall_ns, r.end_wall_ns) for r in live.recorded] == [(0, 500 * S)] and live.gaps == ()
    events = [CameraEvent("record_error", 90 * S, "error", "recording disk missing or foreign")]
    detached = coverage(segs, [RunEnd(1, 60 * S, "error", 0)], events, 0, 1000 * S, now_ns=500 * S)
    assert [(r.start_wall_ns, r.end_wall_ns) for r in detached.recorded] == [(0, 60 * S)]
    assert [(g.start_wall_ns, g.end_wall_ns, g.reason, g.detail) for g in detached.gaps] == [
        (60 * S, 500 * S, GapReason.RECORD_ERROR, "recording disk missing or foreign")]
    # A run that ended with no complete segment: recorded until it ended.
    alone = coverage([SegmentSpan(0, None, 2)], [RunEnd(2, 45 * S, "error", 0)], [], 0, 1000 * S, now_ns=500 * S)
    assert [(r.start_wall_ns, r.end_wall_ns) for r in alone.recorded] == [(0, 45 * S)]


@st.composite
def segment_lists(draw: st.DrawFn) -> list[SegmentSpan]:
    out, t = [], draw(st.integers(0, 100 * S))
    for run in range(draw(st.integers(0, 20))):
        t += draw(st.integers(0, 5 * S))
        length = draw(st.integers(1, 90 * S))
        out.append(SegmentSpan(t, t + length, run))
        t += length
    return out


@given(segment_lists(), st.integers(0, 500 * S), st.integers(1, 1000 * S), st.integers(0, 2000 * S))
def test_recorded_and_gaps_tile_the_range_exactly(segs: list[SegmentSpan], start: int, length: int, now: int) -> None:
    end = start + length
    cov = coverage(segs, [], [], start, end, now)
    pieces = sorted([(r.start_wall_ns, r.end_wall_ns) for r in cov.recorded]
                    + [(g.start_wall_ns, g.end_wall_ns) for g in cov.gaps])
    stop = min(end, now)
    if stop <= start:
        assert pieces == []
        return
    assert pieces[0][0] == start and pieces[-1][1] == stop
    for (_, a_end), (b_start, _) in pairwise(pieces):
        assert a_end == b_start
    for gap in cov.gaps:  # a gap is never recorded time
        for s in segs:
            assert not (s.start_wall_ns < gap.start_wall_ns and gap.end_wall_ns < (s.end_wall_ns or 0))
    # Spans are separated by more than the merge tolerance.
    for a, b in pairwise(cov.recorded):
        assert b.start_wall_ns - a.end_wall_ns > MERGE_TOLERANCE_NS


def test_hold_states() -> None:
    assert hold_state(None, None, NOW) is HoldState.ACTIVE
    assert hold_state(NOW + 1, None, NOW) is HoldState.ACTIVE
    assert hold_state(NOW, None, NOW) is HoldState.EXPIRED
    assert hold_state(None, NOW - 5, NOW) is HoldState.RELEASED
