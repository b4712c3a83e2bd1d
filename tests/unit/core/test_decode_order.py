"""core/decode_order.py: a monotonic dts for access units that carry only their pts (RTP)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from vigil.core.decode_order import MAX_JUMP_90K, MAX_REORDER_DEPTH, WINDOW, DecodeOrder

F = 6000  # 15 fps


def _dts(pts: list[int], depth: int = 0) -> list[int]:
    order = DecodeOrder(depth)
    return [order.dts(p) for p in pts]


def test_without_bframes_dts_is_pts() -> None:
    pts = [1000 + i * F for i in range(40)]
    order = DecodeOrder()
    assert [order.dts(p) for p in pts] == pts and order.depth == 0


def _ibbp(gops: int, bframes: int) -> list[int]:
    """Decode order of I B..B P B..B P ... (no pyramid): each reference sent before the B-frames it closes."""
    out, n = [0], 1
    while n < gops * 15:
        ref = n + bframes
        out.append(ref * F)
        out += [(n + k) * F for k in range(bframes)]
        n = ref + 1
    return out


def test_bframes_learn_the_depth_and_then_dts_is_pts_delayed() -> None:
    pts = _ibbp(4, 2)
    order = DecodeOrder()
    dts = [order.dts(p) for p in pts]
    assert order.depth == 1
    assert all(b > a for a, b in itertools.pairwise(dts))
    later = list(zip(dts, pts, strict=True))[15:]  # once learned: never after the picture is shown
    assert all(d <= p for d, p in later)
    # one picture of delay: access unit i decodes when picture i - 1 is shown
    assert dts[15:] == [(i - 1) * F for i in range(15, len(pts))]


def test_a_depth_kept_from_the_last_session_is_right_from_the_first_picture() -> None:
    pts = _ibbp(2, 2)
    dts = _dts(pts, depth=1)
    assert all(b > a for a, b in itertools.pairwise(dts))
    assert all(d <= p for d, p in zip(dts, pts, strict=True))
    assert dts[0] == -F  # the first picture decodes one frame before it is shown


def test_pyramid_bframes_need_depth_two() -> None:
    # I0 P4 B2 b1 b3 P8 B6 b5 b7: b1 arrives after 4 and 2
    pts = [0] + [x * F for g in range(4) for x in (4 * g + 4, 4 * g + 2, 4 * g + 1, 4 * g + 3)]
    order = DecodeOrder(2)
    dts = [order.dts(p) for p in pts]
    assert order.depth == 2
    assert all(d <= p for d, p in zip(dts, pts, strict=True))


def test_a_clock_jump_restarts_the_window_but_keeps_the_depth() -> None:
    order = DecodeOrder(1)
    before = [order.dts(p) for p in _ibbp(1, 2)]
    after = [order.dts(10**9 + p) for p in _ibbp(1, 2)]
    assert order.depth == 1
    assert all(b > a for a, b in itertools.pairwise(after)) and after[0] > before[-1] - 10**6


@given(st.lists(st.integers(0, 2**40), max_size=200), st.integers(0, 10))
def test_dts_rises_between_clock_jumps_and_the_state_is_bounded(pts: list[int], depth: int) -> None:
    order = DecodeOrder(depth)
    dts = [order.dts(p) for p in pts]
    for i in range(1, len(pts)):
        if abs(pts[i] - pts[i - 1]) <= MAX_JUMP_90K:  # across a jump MediaClock re-bases the timeline
            assert dts[i] > dts[i - 1]
    assert order.depth <= MAX_REORDER_DEPTH and len(order._window) <= WINDOW
