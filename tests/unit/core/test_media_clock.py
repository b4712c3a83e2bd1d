from __future__ import annotations

from vigil.core.media_clock import DecodedTimes, MediaClock, shown_wall_ns
from vigil.core.timebase import ticks_to_ns

MS = 1_000_000


def feed(clock: MediaClock, packets: list[tuple[int | None, int | None, int]]) -> list[tuple[int, int]]:
    out = []
    for dts, pts, received_ms in packets:
        s = clock.stamp(dts, pts, received_ms * MS)
        out.append((s.dts_90k, s.pts_90k))
    return out


def test_first_packet_without_timestamp_starts_at_zero() -> None:
    clock = MediaClock()
    assert feed(clock, [(None, None, 0), (6000, 6000, 66), (12000, 12000, 133)]) == [
        (0, 0), (6000, 6000), (12000, 12000)]
    assert clock.repairs == 0


def test_backwards_and_jumping_timestamps_follow_the_receive_clock() -> None:
    clock = MediaClock()
    out = feed(clock, [(1000, 1000, 0), (7000, 7000, 66), (3000, 3000, 133),  # backwards
                       (3000 + 90_000 * 3600, None, 200),  # an hour forward
                       (3000 + 90_000 * 3600 + 6000, None, 266)])
    dts = [d for d, _ in out]
    assert dts == sorted(dts) and len(set(dts)) == len(dts)
    assert dts[2] - dts[1] == 6030  # 67 ms of receive time
    assert dts[4] - dts[3] == 6000  # back on the camera's clock
    assert clock.repairs == 2


def test_missing_timestamps_are_estimated_from_frame_spacing() -> None:
    clock = MediaClock()
    out = feed(clock, [(0, 0, 0), (6000, 6000, 66), (None, None, 67), (18000, 18000, 200)])
    assert [d for d, _ in out] == [0, 6000, 12000, 18000]


def test_b_frame_offsets_are_kept_and_garbage_offsets_dropped() -> None:
    clock = MediaClock()
    out = feed(clock, [(0, 12000, 0), (6000, 6000, 66), (12000, 10 ** 9, 133)])
    assert out == [(0, 12000), (6000, 6000), (12000, 12000)]


# A stream with B-frames in decode order (x264's B-pyramid), as (dts, picture number in display
# order): I0 P3 B1 B2 P6 B4 B5 I9 B7 B8. Normalized, pts = dts + composition offset, and the first
# keyframe's offset is 2 frames.
DECODE_ORDER = [(0, 0), (1, 3), (2, 1), (3, 2), (4, 6), (5, 4), (6, 5), (7, 9), (8, 7), (9, 8)]
FRAME_90K, FRAME_NS, T0_NS = 6000, 66_666_667, 10**18


def reordering_decoder(fed: list[int], delay: int) -> list[list[int]]:
    """What a decoder with a reorder delay of `delay` pictures returns after each packet (pts in
    presentation order), then when drained."""
    held: list[int] = []
    out: list[list[int]] = []
    for pts in fed:
        held.append(pts)
        held.sort()
        out.append([held.pop(0)] if len(held) > delay else [])
    out.append(held)
    return out


def test_shown_wall_time_follows_the_pts_on_the_packets_clock() -> None:
    first_offset = 2 * FRAME_90K
    shown = {shown_wall_ns(T0_NS + ticks_to_ns(dts * FRAME_90K), dts * FRAME_90K, (n + 2) * FRAME_90K, first_offset): n
             for dts, n in DECODE_ORDER}
    assert [shown[t] for t in sorted(shown)] == list(range(len(DECODE_ORDER)))  # display order
    assert sorted(shown)[0] == T0_NS and sorted(shown)[-1] == T0_NS + ticks_to_ns(9 * FRAME_90K)
    # A camera that sends keyframes with pts = dts + offset has its keyframes shown when they arrive.
    assert shown_wall_ns(T0_NS + 5, 90_000, 90_000 + first_offset, first_offset) == T0_NS + 5


def test_decoded_frames_take_the_time_of_the_packet_that_carried_them() -> None:
    times = DecodedTimes()
    shown_at = {}
    stamped = []
    fed_pts = [(n + 2) * FRAME_90K for _, n in DECODE_ORDER]
    outputs = reordering_decoder(fed_pts, delay=2)
    for (dts, n), returned in zip(DECODE_ORDER, outputs, strict=False):
        pts = (n + 2) * FRAME_90K
        shown_at[pts] = shown_wall_ns(T0_NS + dts * FRAME_NS, dts * FRAME_90K, pts, 2 * FRAME_90K)
        times.fed(pts, shown_at[pts])
        stamped += [(frame_pts, times.decoded(frame_pts)) for frame_pts in returned]
    stamped += [(frame_pts, times.decoded(frame_pts)) for frame_pts in outputs[-1]]
    assert [pts for pts, _ in stamped] == sorted(fed_pts)  # every picture came out, in display order
    assert all(wall == shown_at[pts] for pts, wall in stamped), stamped
    walls = [wall or 0 for _, wall in stamped]
    assert walls == sorted(walls) and len(set(walls)) == len(walls)  # display order: later and later
    assert len(times) == 0


def test_keyframes_alone_come_out_gops_late_and_keep_their_own_time() -> None:
    """Keyframe mode: only I-frames are fed, 2 s apart; a decoder that holds back two pictures
    returns the first one when the third goes in, 4 s later. It is still stamped at 0 s."""
    times = DecodedTimes()
    keyframes = [(k * 30 * FRAME_90K + FRAME_90K, k * 2 * 10**9) for k in range(5)]  # (pts, wall)
    outputs = reordering_decoder([pts for pts, _ in keyframes], delay=2)
    stamped = []
    for (pts, wall), returned in zip(keyframes, outputs, strict=False):
        times.fed(pts, wall)
        stamped += [times.decoded(frame_pts) for frame_pts in returned]
    assert stamped == [0, 2 * 10**9, 4 * 10**9]  # the last packet fed was at 8 s
    assert [times.decoded(pts) for pts in outputs[-1]] == [6 * 10**9, 8 * 10**9]


def test_frames_without_a_known_pts_and_the_bound() -> None:
    times = DecodedTimes(max_pending=4)
    for pts in (0, 6000, 12000, 18000):
        times.fed(pts, pts * 1000)
    assert times.decoded(None) is None and times.decoded(24000) is None  # no time: the caller skips it
    assert times.decoded(18000) == 18_000_000  # 6000 and 12000 may still come (repaired pts order)
    assert times.decoded(6000) == 6_000_000 and len(times) == 2
    for pts in range(30000, 90000, 6000):  # 0 and 12000 were dropped by the decoder: pushed out
        times.fed(pts, pts)
    assert len(times) == 4 and times.decoded(0) is None and times.decoded(12000) is None
    assert times.decoded(66000) == 66000
    times.clear()
    assert len(times) == 0
