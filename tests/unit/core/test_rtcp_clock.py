"""core/rtcp_clock.py: the camera's wall clock from sender reports, one test per rule."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.rtcp_clock import NTP_UNIX_OFFSET_S, SKEW_WINDOW, RtcpClock, ntp_to_unix_ns
from vigil.core.rtp import SenderReport

S = 1_000_000_000
T0 = 1_796_000_000 * S  # 2026-11-29, Unix ns


def ntp(unix_ns: int) -> int:
    seconds, rest = divmod(unix_ns, S)
    return ((seconds + NTP_UNIX_OFFSET_S) & 0xFFFFFFFF) << 32 | (rest << 32) // S


def report(unix_ns: int, rtp_ts: int) -> SenderReport:
    return SenderReport(1, ntp(unix_ns), rtp_ts & 0xFFFFFFFF, 0, 0)


def test_ntp_conversion_both_eras() -> None:
    assert ntp_to_unix_ns(NTP_UNIX_OFFSET_S << 32) == 0
    assert ntp_to_unix_ns(ntp(T0 + 500_000_000)) == T0 + 500_000_000
    assert T0 + 123_456_788 <= ntp_to_unix_ns(ntp(T0 + 123_456_789)) <= T0 + 123_456_789
    after_2036 = 2_100_000_000 * S
    assert abs(ntp_to_unix_ns(ntp(after_2036)) - after_2036) < 2


def test_nothing_before_a_sender_report() -> None:
    clock = RtcpClock(90000)
    assert clock.wall_ns(12345) is None and clock.camera_ns(12345) is None and clock.skew_ms() is None


def test_mapping_extrapolates_both_ways_and_across_the_wrap() -> None:
    clock = RtcpClock(90000)
    clock.on_sender_report(report(T0, 0xFFFFFF00), T0 + 3_000_000)  # camera 3 ms behind arrival
    assert clock.wall_ns(0xFFFFFF00) == T0
    assert clock.wall_ns(0x1_00000000 - 0x100 + 90000) == T0 + S  # unwrapped past 2^32
    assert clock.wall_ns(0xFFFFFF00 - 45000) == T0 - S // 2
    assert clock.skew_ms() == -3.0


def test_skew_is_the_median_of_recent_reports() -> None:
    clock = RtcpClock(8000)
    delays_ms = [2, 3, 250, 2, 4]  # one late report
    for n, delay in enumerate(delays_ms):
        at = T0 + n * 5 * S
        clock.on_sender_report(report(at, n * 40000), at + delay * 1_000_000)
    assert clock.skew_ms() == -3.0
    for n in range(5, 5 + 2 * SKEW_WINDOW):  # old samples age out
        at = T0 + n * 5 * S
        clock.on_sender_report(report(at, n * 40000), at - 7_000_000)
    assert clock.skew_ms() == 7.0


def test_the_latest_report_defines_the_mapping() -> None:
    clock = RtcpClock(90000)
    clock.on_sender_report(report(T0, 0), T0)
    # 5 s later the camera's RTP clock ran 0.01 % fast against its NTP clock
    clock.on_sender_report(report(T0 + 5 * S, 450045), T0 + 5 * S)
    assert clock.wall_ns(450045) == T0 + 5 * S
    assert clock.jumps == 0


def test_a_jump_starts_afresh() -> None:
    clock = RtcpClock(90000)
    for n in range(3):
        clock.on_sender_report(report(T0 + n * 5 * S, n * 450000), T0 + n * 5 * S + 1_000_000)
    # the camera's NTP stepped its clock 2 s ahead
    clock.on_sender_report(report(T0 + 17 * S, 15 * 90000), T0 + 15 * S)
    assert clock.jumps == 1
    assert clock.skew_ms() == 2000.0  # not a median with the old clock's samples
    assert clock.wall_ns(15 * 90000) == T0 + 17 * S


def test_an_unsynchronised_camera_clock_is_reported_but_not_used() -> None:
    clock = RtcpClock(90000)
    camera_thinks = 946_684_800 * S  # 2000-01-01: never got NTP
    clock.on_sender_report(report(camera_thinks, 0), T0)
    assert not clock.synchronised()
    assert clock.wall_ns(0) is None
    # its own clock still lines up its tracks
    assert clock.camera_ns(0) == camera_thinks and clock.camera_ns(90000) == camera_thinks + S
    skew = clock.skew_ms()
    assert skew is not None and skew < -800_000_000_000  # decades, in ms


def test_a_report_without_wall_clock_is_ignored() -> None:
    clock = RtcpClock(90000)
    clock.on_sender_report(SenderReport(1, 0, 1234, 0, 0), T0)
    assert clock.skew_ms() is None and clock.wall_ns(1234) is None and clock.reports == 0


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(-10**7, 10**7), st.integers(1, 200))
def test_wall_time_is_linear_in_the_rtp_timestamp(sr_rtp: int, offset: int, seconds: int) -> None:
    clock = RtcpClock(90000)
    clock.on_sender_report(report(T0, sr_rtp), T0)
    base = sr_rtp + offset  # any unwrapped value congruent to a timestamp near the SR
    first, later = clock.wall_ns(base), clock.wall_ns(base + seconds * 90000)
    assert first is not None and later is not None
    assert later - first == seconds * S
