from __future__ import annotations

from vigil.core.media_clock import MediaClock

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
