"""Clip timeline arithmetic: which fragments, where they land, gaps, codec changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vigil.core.clip_timeline import SourceFragment, SourceSegment, place
from vigil.core.timebase import NS_PER_SECOND, ticks_to_ns

S = NS_PER_SECOND
FRAME = 6000  # 15 fps in 90 kHz ticks


def segment(start_s: float, fragments: int, key: str = "a", frames: int = 15) -> SourceSegment:
    """A segment of `fragments` one-second GOPs starting at start_s (wall seconds)."""
    return SourceSegment(int(start_s * S), tuple(
        SourceFragment(n * frames * FRAME, (FRAME,) * frames, True) for n in range(fragments)), key)


def test_starts_at_keyframe_before_start_and_cuts_after_the_last_frame_before_end() -> None:
    t = place([segment(100, 4), segment(104, 4)], int(101.5 * S), int(106.2 * S))
    assert t is not None
    assert t.first_wall_ns == 101 * S  # the keyframe at or before 101.5
    assert [(f.segment_pos, f.fragment_pos) for f in t.fragments] == [(0, 1), (0, 2), (0, 3), (1, 0), (1, 1),
                                                                       (1, 2)]
    assert [f.clip_decode_start_90k for f in t.fragments] == [0, 90_000, 180_000, 270_000, 360_000, 450_000]
    assert t.fragments[-1].samples_kept == 3  # 106.0, 106.067, 106.133 decode before 106.2
    assert t.frame_count == 15 * 5 + 3
    assert t.end_wall_ns == 106 * S + ticks_to_ns(3 * FRAME)
    assert t.duration_90k == 5 * 90_000 + 3 * FRAME
    assert t.gaps == () and t.stopped_at_wall_ns is None


def test_a_gap_keeps_true_time_and_is_reported() -> None:
    t = place([segment(100, 4), segment(110, 4)], 100 * S, 112 * S)
    assert t is not None
    starts = [f.clip_decode_start_90k for f in t.fragments]
    assert starts == [0, 90_000, 180_000, 270_000, 900_000, 990_000]  # 6 s of nothing between
    assert t.gaps == ((104 * S, 110 * S),)


def test_range_beginning_before_the_recording_reports_the_leading_gap() -> None:
    t = place([segment(100, 4)], 95 * S, 102 * S)
    assert t is not None and t.first_wall_ns == 100 * S
    assert t.gaps == ((95 * S, 100 * S),)
    assert place([segment(100, 4)], 104 * S, 110 * S) is None  # nothing recorded there
    assert place([segment(100, 4)], 90 * S, 100 * S) is None


def test_long_gop_starts_at_the_fragment_holding_its_keyframe() -> None:
    frags = tuple(SourceFragment(n * 90_000, (FRAME,) * 15, n % 3 == 0) for n in range(6))  # 3 s GOPs
    t = place([SourceSegment(100 * S, frags, "a")], int(104.5 * S), 106 * S)
    assert t is not None and t.first_wall_ns == 103 * S
    assert [f.fragment_pos for f in t.fragments] == [3, 4, 5]


def test_codec_change_ends_the_clip_before_it() -> None:
    t = place([segment(100, 2), segment(102, 2, key="b"), segment(104, 2)], 100 * S, 106 * S)
    assert t is not None
    assert {f.segment_pos for f in t.fragments} == {0}
    assert t.stopped_at_wall_ns == 102 * S
    assert t.gaps == ()  # what follows the change is not a gap, it is not in this clip
    later = place([segment(100, 2), segment(102, 2, key="b")], int(102.5 * S), 104 * S)
    assert later is not None and later.stopped_at_wall_ns is None  # starting after the change is fine


def test_overlapping_segment_is_clamped_so_time_never_runs_backwards() -> None:
    t = place([segment(100, 2), segment(101.5, 2)], 100 * S, 104 * S)
    assert t is not None
    starts = [f.clip_decode_start_90k for f in t.fragments]
    assert starts == sorted(starts) and starts[2] == 180_000


@st.composite
def recordings(draw: st.DrawFn) -> list[SourceSegment]:
    segs, t = [], 1000 * S
    for _ in range(draw(st.integers(1, 5))):
        t += draw(st.sampled_from([0, 0, 0, S // 3, 7 * S]))  # mostly contiguous, sometimes gaps
        n = draw(st.integers(1, 4))
        frames = draw(st.integers(1, 30))
        segs.append(segment(t / S, n, frames=frames))
        t += ticks_to_ns(n * frames * FRAME)
    return segs


@given(recordings(), st.integers(0, 60 * S), st.integers(1, 60 * S))
def test_timeline_properties(segs: list[SourceSegment], start_off: int, length: int) -> None:
    start = 999 * S + start_off
    end = start + length
    t = place(segs, start, end)
    if t is None:
        return
    # Decode time runs forward without overlaps, and matches wall time from the first frame.
    for a, b in zip(t.fragments, t.fragments[1:], strict=False):
        assert b.clip_decode_start_90k >= a.clip_decode_start_90k + a.duration_90k
    for f in t.fragments:
        seg = segs[f.segment_pos]
        wall = seg.start_wall_ns + ticks_to_ns(seg.fragments[f.fragment_pos].decode_start_90k)
        assert abs(ticks_to_ns(f.clip_decode_start_90k) - (wall - t.first_wall_ns)) < 20_000
        assert wall < end
    # Starts at a keyframe at or before start (if anything is recorded there), ends before end.
    first = segs[t.fragments[0].segment_pos].fragments[t.fragments[0].fragment_pos]
    assert first.starts_with_sync
    assert t.first_wall_ns <= start or all(g[0] == start for g in t.gaps[:1])
    # Gaps lie inside the request and do not overlap what the clip covers.
    for g0, g1 in t.gaps:
        assert start <= g0 < g1 <= end
    assert t.frame_count >= 1
