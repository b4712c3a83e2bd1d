"""RTP and RTCP, sans-IO (RFC 3550): packets in, values out; receiver reports out as bytes.

Rules:
- `parse_rtp` reads one RTP version 2 packet: the 12-byte header, the CSRC list, a header
  extension (skipped), padding (the last byte counts it; 0 or more than the payload is an error).
  Payload types 72..76 are refused: they are RTCP sender/receiver reports arriving on an RTP
  port (RFC 5761 §4), never media. The payload may be empty (a padding-only packet).
- `parse_rtcp` reads a compound RTCP packet (RFC 3550 §6.1): every part has version 2 and a length
  that fits; sender reports (PT 200) come back as `SenderReport`, every other type is skipped.
  A truncated or inconsistent part is an error (`RtpError`), even when earlier parts were good.
- `ReceptionStats` keeps, per source (SSRC, at most MAX_SOURCES; further ones are ignored), the
  extended highest sequence number (RFC 3550 A.1, with its MAX_DROPOUT/MAX_MISORDER resync rule),
  the packets expected and received (A.3: cumulative loss, fraction lost since the last report) and
  the interarrival jitter (A.8, in RTP timestamp units, from arrival times the caller passes in the
  same units). `receiver_report` makes a compound RR + SDES CNAME (§6.4.2, §6.5.1) with one report
  block per source; LSR/DLSR are filled from the last sender report of that source (§6.4.1).
- `TimestampUnwrapper` extends 32-bit RTP timestamps to unbounded integers: each one is placed
  at the distance (-2^31, 2^31] from the highest seen, so wraps and reordered packets keep their
  order. The first timestamp is returned as it is; an extended value is always congruent to its
  32-bit value modulo 2^32 (a packet reordered across the very first wrap may come out negative).

Nothing here allocates more than one value per packet; all errors are `RtpError` (a ValueError).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_HEADER_BYTES = 12
MAX_SOURCES = 8
# RFC 3550 A.1
MAX_DROPOUT = 3000
MAX_MISORDER = 100
SEQ_MOD = 1 << 16

_RTP_HEADER = struct.Struct("!BBHII")
_RTCP_HEADER = struct.Struct("!BBH")
_SR_BODY = struct.Struct("!IQIII")
_RR_BLOCK = struct.Struct("!IIIIII")
_TS_MOD = 1 << 32
_TS_HALF = 1 << 31


class RtpError(ValueError):
    """Bytes that are not RTP/RTCP (or a payload) as these parsers accept them."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    marker: bool
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes


# parse_rtp fills an RtpPacket through its slots: a frozen dataclass's __init__ sets each field
# through object.__setattr__, which was a third of parse_rtp's time (bench/depacketize.py).
_new_packet = object.__new__
_set_payload_type = RtpPacket.__dict__["payload_type"].__set__
_set_marker = RtpPacket.__dict__["marker"].__set__
_set_seq = RtpPacket.__dict__["seq"].__set__
_set_timestamp = RtpPacket.__dict__["timestamp"].__set__
_set_ssrc = RtpPacket.__dict__["ssrc"].__set__
_set_payload = RtpPacket.__dict__["payload"].__set__


@dataclass(frozen=True, slots=True)
class SenderReport:
    ssrc: int
    ntp_time: int  # 64-bit NTP timestamp: seconds since 1900 << 32 | fraction
    rtp_timestamp: int
    packet_count: int
    octet_count: int


def parse_rtp(data: bytes) -> RtpPacket:
    """One RTP packet (RFC 3550 §5.1). Raises RtpError for anything else."""
    if len(data) < RTP_HEADER_BYTES:
        raise RtpError(f"RTP packet of {len(data)} bytes is shorter than its header")
    first, second, seq, timestamp, ssrc = _RTP_HEADER.unpack_from(data)
    if first & 0xC0 != 0x80:
        raise RtpError(f"RTP version {first >> 6}, not 2")
    payload_type = second & 0x7F
    if 72 <= payload_type <= 76:
        raise RtpError(f"payload type {payload_type} is RTCP, not RTP")
    start = RTP_HEADER_BYTES + 4 * (first & 0x0F)
    end = len(data)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in 32-bit words
        if start + 4 > end:
            raise RtpError("RTP header extension past the packet's end")
        start += 4 + 4 * int.from_bytes(data[start + 2:start + 4], "big")
    if first & 0x20:
        padding = data[-1]
        if padding == 0 or start + padding > end:
            raise RtpError(f"RTP padding of {padding} bytes does not fit the packet")
        end -= padding
    if start > end:
        raise RtpError("RTP header (CSRC list or extension) past the packet's end")
    packet = _new_packet(RtpPacket)
    _set_payload_type(packet, payload_type)
    _set_marker(packet, second > 0x7F)
    _set_seq(packet, seq)
    _set_timestamp(packet, timestamp)
    _set_ssrc(packet, ssrc)
    _set_payload(packet, data[start:end])
    return packet


def parse_rtcp(data: bytes) -> tuple[SenderReport, ...]:
    """The sender reports of a compound RTCP packet (RFC 3550 §6.4.1); other parts are skipped."""
    reports: list[SenderReport] = []
    at, end = 0, len(data)
    if end < 4:
        raise RtpError(f"RTCP packet of {end} bytes is shorter than its header")
    while at < end:
        if at + 4 > end:
            raise RtpError("RTCP compound packet ends inside a header")
        first, packet_type, words = _RTCP_HEADER.unpack_from(data, at)
        if first & 0xC0 != 0x80:
            raise RtpError(f"RTCP version {first >> 6}, not 2")
        size = 4 * (words + 1)
        if at + size > end:
            raise RtpError(f"RTCP part of {size} bytes past the packet's end")
        if packet_type == 200:
            if size < 28:
                raise RtpError(f"RTCP sender report of {size} bytes is too short")
            reports.append(SenderReport(*_SR_BODY.unpack_from(data, at + 4)))
        at += size
    return tuple(reports)


def _signed_ts(delta: int) -> int:
    """A 32-bit difference as a value in (-2^31, 2^31]."""
    delta &= 0xFFFFFFFF
    return delta - _TS_MOD if delta > _TS_HALF else delta


class TimestampUnwrapper:
    """32-bit RTP timestamps → unbounded, ordered integers (rules in the module docstring)."""

    __slots__ = ("_highest",)

    def __init__(self) -> None:
        self._highest: int | None = None

    def unwrap(self, timestamp: int) -> int:
        highest = self._highest
        if highest is None:
            self._highest = timestamp
            return timestamp
        extended = highest + _signed_ts(timestamp - highest)
        if extended > highest:
            self._highest = extended
        return extended


@dataclass(frozen=True)
class SourceStats:
    """What a receiver report says about one source, as numbers (for tests and health)."""

    ssrc: int
    extended_highest_seq: int
    received: int
    expected: int
    lost: int  # cumulative, may be negative with duplicates (RFC 3550 A.3)
    jitter: int  # interarrival jitter, RTP timestamp units


class _Source:
    __slots__ = (
        "bad_seq",
        "base_seq",
        "cycles",
        "expected_prior",
        "jitter_16",
        "max_seq",
        "received",
        "received_prior",
        "ssrc",
        "transit",
    )

    def __init__(self, ssrc: int, seq: int) -> None:
        self.ssrc = ssrc
        self.max_seq = seq
        self.cycles = 0
        self.base_seq = seq
        self.bad_seq = SEQ_MOD + 1  # so that seq == bad_seq is false
        self.received = 0
        self.expected_prior = 0
        self.received_prior = 0
        self.transit: int | None = None
        self.jitter_16 = 0  # jitter × 16 (A.8's integer form)

    def update_seq(self, seq: int) -> bool:
        """RFC 3550 A.1 without probation; False for a packet not to count."""
        delta = (seq - self.max_seq) % SEQ_MOD
        if delta < MAX_DROPOUT:
            if seq < self.max_seq:
                self.cycles += SEQ_MOD
            self.max_seq = seq
        elif delta <= SEQ_MOD - MAX_MISORDER:
            if seq == self.bad_seq:  # two in a row: the source restarted its sequence
                self.max_seq = seq
                self.cycles = 0
                self.base_seq = seq
                self.bad_seq = SEQ_MOD + 1
                self.received = 0
                self.expected_prior = 0
                self.received_prior = 0
            else:
                self.bad_seq = (seq + 1) % SEQ_MOD
                return False
        # else: duplicate or reordered within MAX_MISORDER: counted
        self.received += 1
        return True

    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    def expected(self) -> int:
        return self.extended_max() - self.base_seq + 1


class ReceptionStats:
    """Per-source reception statistics for receiver reports (rules in the module docstring)."""

    def __init__(self) -> None:
        self._sources: dict[int, _Source] = {}

    def update(self, packet: RtpPacket, arrival_rtp_units: int) -> None:
        """Count one received packet; `arrival_rtp_units` is its arrival time on any clock that
        runs at the stream's RTP clock rate (only differences matter)."""
        source = self._sources.get(packet.ssrc)
        if source is None:
            if len(self._sources) >= MAX_SOURCES:
                return
            source = self._sources[packet.ssrc] = _Source(packet.ssrc, packet.seq)
        seq = packet.seq
        max_seq = source.max_seq
        if (seq - max_seq) % SEQ_MOD < MAX_DROPOUT:  # the common case, update_seq's first branch inline
            if seq < max_seq:
                source.cycles += SEQ_MOD
            source.max_seq = seq
            source.received += 1
        elif not source.update_seq(seq):
            return
        transit = arrival_rtp_units - packet.timestamp
        previous = source.transit
        if previous is not None:
            d = (transit - previous) & 0xFFFFFFFF  # abs(_signed_ts(...)) inline
            if d > _TS_HALF:
                d = _TS_MOD - d
            source.jitter_16 += d - ((source.jitter_16 + 8) >> 4)
        source.transit = transit

    def stats(self, ssrc: int) -> SourceStats | None:
        source = self._sources.get(ssrc)
        if source is None:
            return None
        expected = source.expected()
        return SourceStats(ssrc, source.extended_max(), source.received, expected,
                           expected - source.received, source.jitter_16 >> 4)

    def receiver_report(self, own_ssrc: int, last_sr: SenderReport | None,
                        last_sr_arrival_s: float | None, now_s: float, cname: str = "vigil") -> bytes:
        """A compound RTCP packet: RR with a block per source (at most 31), then SDES CNAME.
        Resets the "since the last report" counters behind the fraction lost."""
        blocks: list[bytes] = []
        for source in list(self._sources.values())[:31]:
            expected = source.expected()
            lost = expected - source.received
            lost = max(-0x800000, min(0x7FFFFF, lost)) & 0xFFFFFF
            expected_interval = expected - source.expected_prior
            received_interval = source.received - source.received_prior
            source.expected_prior, source.received_prior = expected, source.received
            lost_interval = expected_interval - received_interval
            fraction = 0
            if expected_interval > 0 and lost_interval > 0:
                fraction = min(255, (lost_interval << 8) // expected_interval)
            lsr = dlsr = 0
            if last_sr is not None and last_sr.ssrc == source.ssrc and last_sr_arrival_s is not None:
                lsr = (last_sr.ntp_time >> 16) & 0xFFFFFFFF
                dlsr = min(0xFFFFFFFF, max(0, int((now_s - last_sr_arrival_s) * 65536)))
            blocks.append(_RR_BLOCK.pack(source.ssrc, fraction << 24 | lost,
                                         source.extended_max() & 0xFFFFFFFF,
                                         min(source.jitter_16 >> 4, 0xFFFFFFFF), lsr, dlsr))
        body = b"".join(blocks)
        rr = bytes([0x80 | len(blocks), 201]) + ((len(body) + 8) // 4 - 1).to_bytes(2, "big")
        rr += own_ssrc.to_bytes(4, "big") + body
        name = cname.encode()[:255]
        chunk = own_ssrc.to_bytes(4, "big") + bytes([1, len(name)]) + name + b"\x00"
        chunk += b"\x00" * (-len(chunk) % 4)
        sdes = bytes([0x81, 202]) + ((len(chunk) + 4) // 4 - 1).to_bytes(2, "big") + chunk
        return rr + sdes
