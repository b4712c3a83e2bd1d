"""Audio RTP payloads → encoded frames, sans-IO: G.711 (RFC 3551), AAC (RFC 3640), Opus (RFC 7587).

Rules:
- G.711 (PCMU/PCMA): the payload is the frame; one byte per sample (mono, as cameras send), so
  the duration is the payload's length in samples.
- Opus: the payload is one Opus packet; its duration (RFC 6716 §3.1: the TOC byte's frame size
  times the frame count) at 48 kHz, the RTP clock of Opus whatever the sample rate.
- AAC, `mpeg4-generic` (RFC 3640 §3.2): a 16-bit AU-headers-length (in bits), the AU headers
  (AU-size, AU-Index then AU-Index-delta, the optional CTS/DTS deltas, RAP flag and stream state as
  the fmtp's sizelength/indexlength/indexdeltalength/ctsdeltalength/dtsdeltalength/
  randomaccessindication/streamstateindication say; AAC-hbr is 13/3/3), an optional auxiliary
  section (skipped), then the AUs one after another. AU i of a packet is stamped with the
  packet's timestamp + (its index − the first's) × the frame duration (`constantduration`, else
  1024 samples, AAC-LC's frame). A single AU larger than the packet's data is a fragment: the
  following packets of the same timestamp carry the rest, and the frame comes out once whole
  (RFC 3640 §3.2.3: the marker bit is set on its last fragment).
- A sequence gap, another timestamp or a corrupt header drops a partly reassembled frame; a packet
  whose headers do not match its data is dropped whole. Both count in `dropped_frames` /
  `dropped_packets`; audio frames decode independently, so nothing waits for a resync. Packets
  older than expected (reordered/duplicated) are ignored.
- A frame larger than MAX_AUDIO_FRAME_BYTES is dropped; that bounds what a reassembly holds.
- The constructor raises `RtpError` for an fmtp it cannot read (AAC without sizelength); `push`
  raises nothing for bad payloads (they are counted), so a noisy network cannot end a session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vigil.core.media import AudioCodec
from vigil.core.rtp import RtpError, RtpPacket

MAX_AUDIO_FRAME_BYTES = 64 * 1024
AAC_FRAME_SAMPLES = 1024
OPUS_CLOCK_RATE_HZ = 48_000
_MAX_OPUS_SAMPLES = 5760  # 120 ms at 48 kHz (RFC 6716 §3.2.5)
_SILK_SAMPLES = (480, 960, 1920, 2880)
_HYBRID_SAMPLES = (480, 960)
_CELT_SAMPLES = (120, 240, 480, 960)


class _TruncatedError(Exception):
    """AU headers that claim more bits than the packet has."""


@dataclass(frozen=True, slots=True)
class AudioFrame:
    data: bytes
    rtp_timestamp: int
    duration_samples: int  # in RTP clock units (samples at the clock rate)


def opus_duration_samples(packet: bytes) -> int | None:
    """The duration of an Opus packet at 48 kHz (RFC 6716 §3.1), None for an invalid one."""
    if not packet:
        return None
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        frame = _SILK_SAMPLES[config & 3]
    elif config < 16:
        frame = _HYBRID_SAMPLES[config & 1]
    else:
        frame = _CELT_SAMPLES[config & 3]
    code = toc & 3
    if code == 0:
        count = 1
    elif code < 3:
        count = 2
    else:
        if len(packet) < 2 or packet[1] & 0x3F == 0:
            return None
        count = packet[1] & 0x3F
    total = frame * count
    return total if total <= _MAX_OPUS_SAMPLES else None


def _int_param(fmtp: Mapping[str, str], name: str, default: int) -> int:
    value = fmtp.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise RtpError(f"fmtp {name}={value!r} is not a number") from None
    if not 0 <= number <= 32:
        raise RtpError(f"fmtp {name}={number} is out of range")
    return number


class AudioDepacketizer:
    """RTP packets of one audio track → AudioFrames (rules in the module docstring)."""

    def __init__(self, track_codec: AudioCodec, clock_rate_hz: int, fmtp: Mapping[str, str]) -> None:
        if clock_rate_hz <= 0:
            raise RtpError(f"clock rate {clock_rate_hz} Hz")
        self.codec = track_codec
        self.clock_rate_hz = clock_rate_hz
        params = {key.lower(): value for key, value in fmtp.items()}
        self._next_seq: int | None = None
        self.dropped_packets = 0
        self.dropped_frames = 0
        # AAC (RFC 3640) layout
        self._size_bits = self._index_bits = self._delta_bits = 0
        self._cts_bits = self._dts_bits = self._rap_bits = self._state_bits = self._aux_bits = 0
        self._frame_samples = AAC_FRAME_SAMPLES
        self._fragment: list[bytes] = []
        self._fragment_bytes = 0
        self._fragment_size = 0
        self._fragment_ts = 0
        if track_codec is AudioCodec.AAC:
            self._size_bits = _int_param(params, "sizelength", 0)
            if self._size_bits == 0:
                raise RtpError("mpeg4-generic audio without sizelength in its fmtp")
            self._index_bits = _int_param(params, "indexlength", 0)
            self._delta_bits = _int_param(params, "indexdeltalength", 0)
            self._cts_bits = _int_param(params, "ctsdeltalength", 0)
            self._dts_bits = _int_param(params, "dtsdeltalength", 0)
            self._rap_bits = 1 if _int_param(params, "randomaccessindication", 0) else 0
            self._state_bits = _int_param(params, "streamstateindication", 0)
            self._aux_bits = _int_param(params, "auxiliarydatasizelength", 0)
            duration = params.get("constantduration", "").strip()
            if duration.isdigit() and 0 < int(duration) <= 1 << 16:
                self._frame_samples = int(duration)

    def push(self, packet: RtpPacket) -> list[AudioFrame]:
        seq = packet.seq
        if self._next_seq is not None and seq != self._next_seq:
            if (seq - self._next_seq) & 0xFFFF >= 0x8000:
                return []  # older than expected: reordered or duplicated
            self._drop_fragment()
        self._next_seq = (seq + 1) & 0xFFFF
        payload = packet.payload
        codec = self.codec
        if codec is AudioCodec.PCMU or codec is AudioCodec.PCMA:
            if not payload or len(payload) > MAX_AUDIO_FRAME_BYTES:
                self.dropped_packets += 1
                return []
            return [AudioFrame(payload, packet.timestamp, len(payload))]
        if codec is AudioCodec.OPUS:
            samples = opus_duration_samples(payload)
            if samples is None or len(payload) > MAX_AUDIO_FRAME_BYTES:
                self.dropped_packets += 1
                return []
            return [AudioFrame(payload, packet.timestamp,
                               samples * self.clock_rate_hz // OPUS_CLOCK_RATE_HZ)]
        return self._aac(packet)

    # --- AAC (RFC 3640) -------------------------------------------------------------------------

    def _drop_fragment(self) -> None:
        if self._fragment_size:
            self.dropped_frames += 1
        self._fragment = []
        self._fragment_bytes = self._fragment_size = 0

    def _aac(self, packet: RtpPacket) -> list[AudioFrame]:
        payload = packet.payload
        if self._fragment_size and packet.timestamp != self._fragment_ts:
            self._drop_fragment()
        parsed = self._au_headers(payload)
        if parsed is None:
            self.dropped_packets += 1
            self._drop_fragment()
            return []
        headers, at = parsed
        data_bytes = len(payload) - at
        if self._fragment_size:  # a continuation: one header, the whole AU's size
            if len(headers) != 1 or headers[0][0] != self._fragment_size:
                self.dropped_packets += 1
                self._drop_fragment()
                return []
            self._fragment.append(payload[at:])
            self._fragment_bytes += data_bytes
            if self._fragment_bytes < self._fragment_size and not packet.marker:
                return []
            whole = b"".join(self._fragment)
            size, ts = self._fragment_size, self._fragment_ts
            self._fragment, self._fragment_bytes, self._fragment_size = [], 0, 0
            if len(whole) != size:
                self.dropped_frames += 1
                return []
            return [AudioFrame(whole, ts, self._frame_samples)]
        if len(headers) == 1 and headers[0][0] > data_bytes:  # the first fragment of a large AU
            size = headers[0][0]
            if packet.marker or size > MAX_AUDIO_FRAME_BYTES:
                self.dropped_packets += 1
                return []
            self._fragment = [payload[at:]]
            self._fragment_bytes, self._fragment_size = data_bytes, size
            self._fragment_ts = packet.timestamp
            return []
        if sum(size for size, _ in headers) > data_bytes:
            self.dropped_packets += 1
            return []
        frames: list[AudioFrame] = []
        first_index = headers[0][1]
        for size, index in headers:
            ts = (packet.timestamp + (index - first_index) * self._frame_samples) & 0xFFFFFFFF
            frames.append(AudioFrame(payload[at:at + size], ts, self._frame_samples))
            at += size
        return frames

    def _au_headers(self, payload: bytes) -> tuple[list[tuple[int, int]], int] | None:
        """[(AU size, AU index)] and where the AU data starts; None when the headers are corrupt."""
        if len(payload) < 2:
            return None
        bits = (payload[0] << 8) | payload[1]
        header_bytes = (bits + 7) // 8
        at = 2 + header_bytes
        if bits == 0 or at > len(payload):
            return None
        field = int.from_bytes(payload[2:at], "big")
        left = header_bytes * 8  # bits of `field` not read yet

        def take(count: int) -> int:
            nonlocal left
            if count > left:
                raise _TruncatedError
            left -= count
            return (field >> left) & ((1 << count) - 1)

        headers: list[tuple[int, int]] = []
        index = 0
        used = 0
        try:
            while bits - used > 0:
                before = left
                size = take(self._size_bits)
                index = take(self._index_bits) if not headers else index + take(self._delta_bits) + 1
                if self._cts_bits and take(1):
                    take(self._cts_bits)
                if self._dts_bits and take(1):
                    take(self._dts_bits)
                take(self._rap_bits)
                take(self._state_bits)
                used += before - left
                if used > bits or size == 0:
                    return None
                headers.append((size, index))
        except _TruncatedError:
            return None
        if self._aux_bits:  # auxiliary section: its size in bits, then the data, byte aligned
            if at + (self._aux_bits + 7) // 8 > len(payload):
                return None
            aux_field = int.from_bytes(payload[at:at + 4], "big") << 8 * max(0, 4 - len(payload[at:at + 4]))
            aux_size = aux_field >> (32 - self._aux_bits)
            at += (self._aux_bits + aux_size + 7) // 8
            if at > len(payload):
                return None
        return headers, at
