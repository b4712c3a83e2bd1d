"""H.264 (RFC 6184) and H.265 (RFC 7798) RTP payloads → Annex-B access units, sans-IO.

Rules:
- Payloads: H.264 single NAL unit (types 1..23), STAP-A (24), FU-A (28); H.265 single NAL unit
  (0..47), aggregation packet AP (48), fragmentation unit FU (49), all without DONL
  (sprop-max-don-diff = 0, what cameras send). STAP-B, MTAP16/24, FU-B (H.264 25..27, 29) and PACI
  (H.265 50) raise `RtpError`: they are the interleaved packetization mode, which a camera has to be
  configured for, so the session cannot be read. Every other defect of a payload (a truncated
  aggregation, an empty NAL unit, a fragment without its start, reserved types) is corruption:
  that access unit is dropped as if packets were lost (below) and counted in `malformed_packets`.
- An access unit (AU) is every NAL unit of one RTP timestamp, each behind a 4-byte start code. It
  is released **on the marker bit** of its last packet, so no frame waits for the next one. A
  marker on an AU without a picture (only parameter sets / SEI: some cameras mark them) does not
  release it. For a camera that never sets the marker, a packet with another timestamp releases
  the pending AU (one frame later: the only fallback there is). Parameter sets / SEI without a
  picture are not an AU of their own: a camera that stamps them apart (with the previous frame's or
  a time of their own) has them carried over into the next picture's AU, which keeps that
  picture's timestamp. `flush()` releases a complete pending AU at the end of a session.
- `is_keyframe`: the AU holds an IDR picture (H.264 type 5) or an IRAP picture (H.265 16..21).
- Loss: a sequence-number gap, a fragment without its start or end, or a corrupt payload breaks the
  AU it falls in (and, for a gap, the AU of the first packet after it: its first packets may be
  the lost ones). A broken AU is dropped, and so is every AU after it until a keyframe that arrived
  whole: `resyncs` counts the losses that started such a wait, `lost_units` every AU dropped
  (of those whose packets were seen; AUs lost entirely cannot be counted).
- Reordering (UDP): after a gap the following packets are held, at most REORDER_WINDOW of them, for
  the missing one; when it comes, all go on in order and nothing is lost. When the window fills,
  a packet is further ahead than the window, or the session ends (`flush`), the missing ones are
  lost (above). In-order streams never wait: the window only holds packets after a gap. A packet
  older than the expected one, or one held already (late or duplicated), is ignored.
- Before the first keyframe nothing is released (nothing could decode it); those AUs count in
  `skipped_units`, not in `lost_units`.
- Bound: an AU over MAX_ACCESS_UNIT_BYTES is dropped (`oversized_units`, and a resync as for a
  loss); the depacketizer never holds more than that plus REORDER_WINDOW packets. Empty fragments
  add nothing.

The hot path appends each NAL piece to a list and joins the list once per AU.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.h26x import nal_type
from vigil.core.media import Codec
from vigil.core.rtp import RtpError, RtpPacket

MAX_ACCESS_UNIT_BYTES = 8 * 1024 * 1024
REORDER_WINDOW = 16  # packets held after a gap, waiting for the missing one
START_CODE = b"\x00\x00\x00\x01"

_H264_STAP_A, _H264_FU_A = 24, 28
_H264_REFUSED = {25: "STAP-B", 26: "MTAP16", 27: "MTAP24", 29: "FU-B"}
_H265_AP, _H265_FU, _H265_PACI = 48, 49, 50


@dataclass(frozen=True, slots=True)
class AccessUnit:
    data: bytes  # Annex-B, 4-byte start codes
    rtp_timestamp: int
    is_keyframe: bool


class _CorruptError(Exception):
    """A payload that cannot be a valid packetization: handled like a loss inside push()."""


class VideoDepacketizer:
    """RTP packets of one H.264/H.265 stream → access units (rules in the module docstring)."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self._h264 = codec is Codec.H264
        self._pieces: list[bytes] = []
        self._size = 0
        self._timestamp: int | None = None
        self._next_seq: int | None = None
        self._held: dict[int, RtpPacket] = {}  # packets after a gap, by sequence number
        self._keyframe = False
        self._picture = False
        self._broken = False  # the current AU lost something: drop it
        self._in_fragment = False  # an FU started and has not ended
        self._waiting = True  # release nothing but a keyframe
        self._synced = False  # a keyframe was released since the start
        self.lost_units = 0
        self.resyncs = 0
        self.skipped_units = 0
        self.oversized_units = 0
        self.malformed_packets = 0

    # --- public -----------------------------------------------------------------------------

    def push(self, packet: RtpPacket) -> list[AccessUnit]:
        """Take one packet of the stream; the access units it completes (usually 0 or 1)."""
        out: list[AccessUnit] = []
        seq = packet.seq
        expected = self._next_seq
        if expected is None or seq == expected:
            self._take(packet, False, out)
            if self._held:
                self._drain(out)
            return out
        distance = (seq - expected) & 0xFFFF
        if distance >= 0x8000 or seq in self._held:
            return out  # older than expected, or held already: reordered or duplicated
        if distance > REORDER_WINDOW:  # far ahead: whatever is missing is lost
            self._give_up(out)
            self._take(packet, True, out)
            self._drain(out)
            return out
        self._held[seq] = packet
        if len(self._held) >= REORDER_WINDOW:
            self._give_up(out)
        return out

    def _drain(self, out: list[AccessUnit]) -> None:
        """Take the held packets that now follow in order."""
        held = self._held
        while self._next_seq in held:
            self._take(held.pop(self._next_seq), False, out)

    def _give_up(self, out: list[AccessUnit]) -> None:
        """The missing packets are lost: take every held one in order, gaps as losses."""
        expected = self._next_seq
        held, self._held = self._held, {}
        assert expected is not None or not held
        for seq in sorted(held, key=lambda s: (s - (expected or 0)) & 0xFFFF):
            self._take(held[seq], seq != self._next_seq, out)

    def _take(self, packet: RtpPacket, gap: bool, out: list[AccessUnit]) -> None:
        """One packet in sequence order (`gap`: packets before it were lost)."""
        self._next_seq = (packet.seq + 1) & 0xFFFF
        timestamp = packet.timestamp
        if timestamp != self._timestamp:
            if self._picture or self._broken or self._in_fragment:
                self._finish(out)
            # else parameter sets / SEI alone (or nothing): carried over to the next picture
            self._timestamp = timestamp
        if gap:
            self._lose()
        payload = packet.payload
        if self._broken:
            pass
        elif (self._in_fragment and self._h264 and len(payload) > 2 and payload[0] & 0x1F == _H264_FU_A
              and not payload[1] & 0x80):
            # the common packet: the middle or end of an FU-A whose start was seen
            self._pieces.append(payload[2:])
            self._size += len(payload) - 2
            if payload[1] & 0x40:
                self._in_fragment = False
            if self._size > MAX_ACCESS_UNIT_BYTES:
                self.oversized_units += 1
                self._lose()
        else:
            try:
                if self._h264:
                    self._h264_payload(payload)
                else:
                    self._h265_payload(payload)
            except _CorruptError:
                self.malformed_packets += 1
                self._lose()
            if self._size > MAX_ACCESS_UNIT_BYTES:
                self.oversized_units += 1
                self._lose()
        if packet.marker and (self._broken or self._picture):
            if self._in_fragment:
                self._lose()
            self._finish(out)

    def flush(self) -> list[AccessUnit]:
        """The pending access unit if it is complete (end of the session)."""
        out: list[AccessUnit] = []
        self._give_up(out)
        if self._picture or self._broken or self._in_fragment:
            self._finish(out)
        self._pieces = []
        self._size = 0
        return out

    # --- AU bookkeeping -----------------------------------------------------------------------

    def _lose(self) -> None:
        self._broken = True
        self._in_fragment = False
        self._pieces = []
        self._size = 0
        if not self._waiting:
            self._waiting = True
            self.resyncs += 1

    def _finish(self, out: list[AccessUnit]) -> None:
        if self._in_fragment:  # the fragment's end never came
            self._lose()
        if self._broken:
            self.lost_units += 1
        elif self._waiting and not self._keyframe:
            if self._synced:
                self.lost_units += 1
            else:
                self.skipped_units += 1
        elif self._pieces:
            self._waiting = False
            self._synced = True
            assert self._timestamp is not None
            out.append(AccessUnit(b"".join(self._pieces), self._timestamp, self._keyframe))
        self._pieces = []
        self._size = 0
        self._keyframe = self._picture = self._broken = self._in_fragment = False

    def _add_nal(self, kind: int, nal: bytes) -> None:
        """A whole NAL unit (header included) of type `kind`."""
        if self._in_fragment:
            raise _CorruptError
        self._note(kind)
        self._pieces.append(START_CODE)
        self._pieces.append(nal)
        self._size += 4 + len(nal)

    def _note(self, kind: int) -> None:
        if self._h264:
            if 1 <= kind <= 5:
                self._picture = True
                if kind == 5:
                    self._keyframe = True
        elif kind < 32:
            self._picture = True
            if 16 <= kind <= 21:
                self._keyframe = True

    def _fragment(self, start: bool, end: bool, kind: int, header: bytes, data: bytes) -> None:
        if start:
            if self._in_fragment or end:  # a new start inside a fragment; start and end at once
                raise _CorruptError
            self._note(kind)
            self._in_fragment = True
            self._pieces.append(START_CODE)
            self._pieces.append(header)
            self._size += 4 + len(header)
        elif not self._in_fragment:
            raise _CorruptError  # its start was lost
        if data:
            self._pieces.append(data)
            self._size += len(data)
        if end:
            self._in_fragment = False

    # --- payload formats --------------------------------------------------------------------

    def _h264_payload(self, payload: bytes) -> None:
        if not payload:
            raise _CorruptError
        kind = payload[0] & 0x1F
        if kind == _H264_FU_A:
            if len(payload) < 2:
                raise _CorruptError
            fu = payload[1]
            header = bytes(((payload[0] & 0xE0) | (fu & 0x1F),)) if fu & 0x80 else b""
            self._fragment(bool(fu & 0x80), bool(fu & 0x40), fu & 0x1F, header, payload[2:])
        elif 1 <= kind <= 23:
            self._add_nal(kind, payload)
        elif kind == _H264_STAP_A:
            self._aggregate(payload, 1)
        elif kind in _H264_REFUSED:
            raise RtpError(f"H.264 {_H264_REFUSED[kind]} packets (interleaved mode) are not supported")
        else:
            raise _CorruptError

    def _h265_payload(self, payload: bytes) -> None:
        if len(payload) < 3:
            raise _CorruptError
        kind = (payload[0] >> 1) & 0x3F
        if kind == _H265_FU:
            fu = payload[2]
            fu_kind = fu & 0x3F
            header = bytes(((payload[0] & 0x81) | (fu_kind << 1), payload[1])) if fu & 0x80 else b""
            self._fragment(bool(fu & 0x80), bool(fu & 0x40), fu_kind, header, payload[3:])
        elif kind < 48:
            self._add_nal(kind, payload)
        elif kind == _H265_AP:
            self._aggregate(payload, 2)
        elif kind == _H265_PACI:
            raise RtpError("H.265 PACI packets are not supported")
        else:
            raise _CorruptError

    def _aggregate(self, payload: bytes, at: int) -> None:
        """STAP-A / AP: 16-bit size, NAL unit, ... (no DONL)."""
        end = len(payload)
        if at >= end:
            raise _CorruptError
        while at < end:
            if at + 2 > end:
                raise _CorruptError
            size = (payload[at] << 8) | payload[at + 1]
            at += 2
            if size == 0 or at + size > end:
                raise _CorruptError
            nal = payload[at:at + size]
            at += size
            self._add_nal(nal_type(self.codec, nal), nal)
