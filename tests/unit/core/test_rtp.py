"""core/rtp.py: RTP and RTCP parsing, reception statistics and receiver reports, unwrapping."""

from __future__ import annotations

import dataclasses
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.rtp import (
    MAX_SOURCES,
    ReceptionStats,
    RtpError,
    RtpPacket,
    SenderReport,
    TimestampUnwrapper,
    parse_rtcp,
    parse_rtp,
)


def rtp(seq: int = 1, ts: int = 1000, pt: int = 96, marker: bool = False, ssrc: int = 0x11223344,
        payload: bytes = b"\x65abc", csrc: int = 0, ext: bytes | None = None, padding: int = 0) -> bytes:
    first = 0x80 | csrc | (0x10 if ext is not None else 0) | (0x20 if padding else 0)
    out = bytes([first, (0x80 if marker else 0) | pt]) + struct.pack("!HII", seq, ts, ssrc)
    out += b"".join(struct.pack("!I", 0xC0000000 + i) for i in range(csrc))
    if ext is not None:
        out += b"\xbe\xde" + struct.pack("!H", len(ext) // 4) + ext
    out += payload
    if padding:
        out += b"\x00" * (padding - 1) + bytes([padding])
    return out


def sr(ssrc: int = 7, ntp: int = 0xE0000000_80000000, rtp_ts: int = 90000, packets: int = 5,
       octets: int = 500, blocks: int = 0) -> bytes:
    body = struct.pack("!IQIII", ssrc, ntp, rtp_ts, packets, octets) + b"\x00" * 24 * blocks
    return bytes([0x80 | blocks, 200]) + struct.pack("!H", (len(body) + 4) // 4 - 1) + body


def sdes(ssrc: int = 7, cname: bytes = b"cam") -> bytes:
    chunk = struct.pack("!I", ssrc) + bytes([1, len(cname)]) + cname + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return bytes([0x81, 202]) + struct.pack("!H", (len(chunk) + 4) // 4 - 1) + chunk


# --- parse_rtp ------------------------------------------------------------------------------------


def test_header_fields() -> None:
    packet = parse_rtp(rtp(seq=65535, ts=0xFFFFFFFF, pt=97, marker=True, ssrc=5, payload=b"xyz"))
    assert packet == RtpPacket(97, True, 65535, 0xFFFFFFFF, 5, b"xyz")


def test_a_parsed_packet_is_a_frozen_value() -> None:
    packet = parse_rtp(rtp(payload=b"abc"))
    assert packet == RtpPacket(96, False, 1, 1000, 0x11223344, b"abc")
    assert hash(packet) == hash(RtpPacket(96, False, 1, 1000, 0x11223344, b"abc"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        packet.seq = 2  # type: ignore[misc]


def test_csrc_extension_and_padding_are_skipped() -> None:
    data = rtp(csrc=2, ext=b"\x01\x02\x03\x04" * 2, padding=3, payload=b"payload")
    assert parse_rtp(data).payload == b"payload"


def test_padding_only_packet_has_an_empty_payload() -> None:
    assert parse_rtp(rtp(payload=b"", padding=4)).payload == b""


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x80\x60" + b"\x00" * 9, "shorter"),
        (b"\x40" + rtp()[1:], "version 1"),
        (rtp(pt=72), "RTCP"),
        (rtp(pt=76), "RTCP"),
        (rtp(csrc=15, payload=b"")[:30], "past the packet"),
        (bytes([0x90]) + rtp(payload=b"")[1:], "extension"),
        (bytes([0x90]) + rtp(payload=b"")[1:] + b"\xbe\xde\x00\x05", "extension"),
        (bytes([0xA0]) + rtp(payload=b"ab\x00")[1:], "padding of 0"),
        (bytes([0xA0]) + rtp(payload=b"ab\x09")[1:], "padding of 9"),
    ],
)
def test_what_is_not_rtp_is_refused(data: bytes, match: str) -> None:
    with pytest.raises(RtpError, match=match):
        parse_rtp(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=80))
def test_fuzz_parse_rtp(data: bytes) -> None:
    try:
        packet = parse_rtp(data)
    except RtpError:
        return
    assert len(packet.payload) <= len(data) - 12


# --- parse_rtcp -----------------------------------------------------------------------------------


def test_sender_reports_in_a_compound_packet() -> None:
    rr = bytes([0x81, 201, 0, 7]) + b"\x00" * 28
    data = sr(ssrc=1, blocks=1) + sdes(1) + rr + sr(ssrc=2, rtp_ts=7)
    reports = parse_rtcp(data)
    assert reports == (SenderReport(1, 0xE0000000_80000000, 90000, 5, 500),
                       SenderReport(2, 0xE0000000_80000000, 7, 5, 500))


def test_no_sender_report_is_an_empty_answer() -> None:
    assert parse_rtcp(sdes()) == ()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x80\xc8\x00", "shorter"),
        (sr()[:-4], "past the packet"),
        (sr() + b"\x80\xca", "inside a header"),
        (b"\x40" + sr()[1:], "version 1"),
        (bytes([0x80, 200, 0, 1]) + b"\x00" * 4, "too short"),
    ],
)
def test_bad_rtcp_is_refused(data: bytes, match: str) -> None:
    with pytest.raises(RtpError, match=match):
        parse_rtcp(data)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([sr(), sdes(), b"\x80\xc9\x00\x01\x00\x00\x00\x01"]), max_size=4),
       st.binary(max_size=12), st.integers(0, 60))
def test_fuzz_parse_rtcp(parts: list[bytes], junk: bytes, cut: int) -> None:
    data = (b"".join(parts) + junk)[: max(0, len(b"".join(parts)) + len(junk) - cut)]
    try:
        reports = parse_rtcp(data)
    except RtpError:
        return
    assert len(reports) <= len(data) // 28


# --- TimestampUnwrapper ---------------------------------------------------------------------------


def test_unwrap_across_the_wrap_and_back() -> None:
    unwrap = TimestampUnwrapper().unwrap
    assert unwrap(0xFFFFFF00) == 0xFFFFFF00
    assert unwrap(0x00000100) == 0x1_00000100
    assert unwrap(0xFFFFFFF0) == 0xFFFFFFF0  # reordered, from before the wrap
    assert unwrap(0x00000200) == 0x1_00000200
    assert unwrap(0x80000100) == 0x1_80000100  # a step just under 2^31 is forward
    assert unwrap(0x00000050) == 0x2_00000050
    assert unwrap(0x80000051) == 0x1_80000051  # one just over 2^31 is backward


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(-3000, 200_000), min_size=1, max_size=60))
def test_unwrapped_timestamps_keep_their_order(start: int, steps: list[int]) -> None:
    unwrapper = TimestampUnwrapper()
    true = start
    assert unwrapper.unwrap(start) == start
    for step in steps:
        true += step
        assert unwrapper.unwrap(true & 0xFFFFFFFF) == true


# --- ReceptionStats and receiver reports ----------------------------------------------------------


def packet(seq: int, ts: int = 0, ssrc: int = 9) -> RtpPacket:
    return RtpPacket(96, False, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc, b"x")


def test_loss_counted_across_a_sequence_wrap() -> None:
    stats = ReceptionStats()
    for seq in [65530, 65531, 65533, 65535, 0, 3]:
        stats.update(packet(seq), 0)
    got = stats.stats(9)
    assert got is not None
    assert (got.extended_highest_seq, got.expected, got.received, got.lost) == (65536 + 3, 10, 6, 4)


def test_jitter_of_a_steady_stream_is_zero_and_grows_with_wobble() -> None:
    stats = ReceptionStats()
    for n in range(50):
        stats.update(packet(n, ts=n * 3000), n * 3000 + 777)
    steady = stats.stats(9)
    assert steady is not None and steady.jitter == 0
    for n in range(50, 100):
        stats.update(packet(n, ts=n * 3000), n * 3000 + (900 if n % 2 else 0))
    wobbly = stats.stats(9)
    # |D| is 900 on every packet: J converges to 900 (A.8's J += (|D| - J) / 16)
    assert wobbly is not None and 850 <= wobbly.jitter <= 900


def test_a_restarted_sequence_resets_after_two_packets_in_a_row() -> None:
    stats = ReceptionStats()
    for seq in range(100, 110):
        stats.update(packet(seq), 0)
    stats.update(packet(40000), 0)  # once: ignored
    stats.update(packet(40001), 0)  # twice in a row: a new sequence
    stats.update(packet(40002), 0)
    got = stats.stats(9)
    assert got is not None and (got.received, got.expected, got.lost) == (2, 2, 0)


def test_receiver_report_bytes() -> None:
    stats = ReceptionStats()
    for seq in [10, 11, 14, 15]:  # 2 of 6 lost
        stats.update(packet(seq, ssrc=0xAABBCCDD), 0)
    last_sr = SenderReport(0xAABBCCDD, 0x12345678_9ABCDEF0, 0, 0, 0)
    data = stats.receiver_report(0x01020304, last_sr, 100.0, 100.5, cname="vigil-cam")
    assert data[:2] == bytes([0x81, 201])
    rr_len = (int.from_bytes(data[2:4], "big") + 1) * 4
    assert rr_len == 32
    sender, source, lost_word, highest, jitter, lsr, dlsr = struct.unpack("!IIIIIII", data[4:32])
    assert (sender, source) == (0x01020304, 0xAABBCCDD)
    assert lost_word >> 24 == (2 << 8) // 6  # fraction lost, 8-bit fixed point
    assert lost_word & 0xFFFFFF == 2
    assert (highest, jitter) == (15, 0)
    assert lsr == 0x56789ABC  # the middle 32 bits of the NTP time
    assert dlsr == 32768  # 0.5 s in 1/65536 s
    # then SDES with the CNAME, and the whole is what parse_rtcp accepts as RTCP
    assert data[32:34] == bytes([0x81, 202]) and b"vigil-cam" in data[32:]
    assert len(data) % 4 == 0 and parse_rtcp(data) == ()
    # the fraction counts from the last report: no new loss, fraction 0, cumulative still 2
    stats.update(packet(16, ssrc=0xAABBCCDD), 0)
    again = stats.receiver_report(0x01020304, None, None, 101.0)
    assert struct.unpack("!I", again[12:16])[0] == 2
    assert struct.unpack("!II", again[24:32]) == (0, 0)  # no SR: LSR, DLSR zero


def test_sources_are_bounded() -> None:
    stats = ReceptionStats()
    for ssrc in range(MAX_SOURCES + 5):
        stats.update(packet(1, ssrc=ssrc), 0)
    assert stats.stats(MAX_SOURCES - 1) is not None and stats.stats(MAX_SOURCES) is None
    data = stats.receiver_report(1, None, None, 0.0)
    assert data[0] & 0x1F == MAX_SOURCES


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 65535), st.integers(0, 2**32 - 1), st.integers(0, 3)), max_size=80))
def test_fuzz_reception_stats(events: list[tuple[int, int, int]]) -> None:
    stats = ReceptionStats()
    for seq, ts, ssrc in events:
        stats.update(packet(seq, ts, ssrc), ts ^ seq)
    data = stats.receiver_report(1, None, None, 0.0)
    assert parse_rtcp(data) == ()
