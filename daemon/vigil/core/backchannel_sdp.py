"""The ONVIF audio backchannel, sans-IO: which track of a camera's SDP takes our audio, and the RTP
packets that carry it (ONVIF Streaming Specification §5.3 "Back channel connection", RFC 3550/3551).

Rules:
- A camera that supports the backchannel answers a DESCRIBE carrying
  `Require: www.onvif.org/ver20/backchannel` with an SDP that has an `m=audio` section whose
  direction is `a=sendonly` (the camera's view: it receives). A camera that does not answers
  `551 Option not supported` or an SDP without such a section: `TalkUnsupportedError`.
- Of that section's payload types we take PCMU, then PCMA, at 8000 Hz mono: static types 0 and 8
  (RFC 3551) or dynamic ones named by `a=rtpmap`. A backchannel offering only something else
  (G.726, AAC, ...) is `TalkUnsupportedError` naming what it offers.
- The SDP is read by core/sdp.py (its bounds; an unreadable SDP is `TalkUnsupportedError` too) and
  the track's control URL resolved by its `resolve_control` (Content-Base, else the DESCRIBE URL).
- `RtpPacketizer` cuts G.711 bytes into packets of at most SAMPLES_PER_PACKET (20 ms) with
  increasing sequence numbers (mod 2^16) and 8 kHz timestamps (mod 2^32) starting at the given
  random initial values; the marker bit is set on the first packet of a talk spurt."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.errors import TalkUnsupportedError
from vigil.core.media import AudioCodec
from vigil.core.sdp import MediaSection, SdpError, parse_sdp, resolve_control

SAMPLE_RATE = 8000
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz, one byte per G.711 sample
G711_NAMES = {"PCMU": AudioCodec.PCMU, "PCMA": AudioCodec.PCMA}
BACKCHANNEL_REQUIRE = "www.onvif.org/ver20/backchannel"


@dataclass(frozen=True)
class BackchannelTrack:
    control_url: str
    payload_type: int
    codec: AudioCodec


def _codec_of(m: MediaSection, pt: int) -> tuple[AudioCodec | None, str]:
    rtpmap = m.rtpmap(pt)
    if rtpmap is None:
        return None, f"payload type {pt}"
    label = f"{rtpmap.encoding}/{rtpmap.clock_rate_hz}" + (f"/{rtpmap.channels}" if rtpmap.channels != 1 else "")
    codec = G711_NAMES.get(rtpmap.encoding)
    if codec is None or rtpmap.clock_rate_hz != SAMPLE_RATE or rtpmap.channels != 1:
        return None, label
    return codec, label


def pick_backchannel(sdp: str, base_url: str) -> BackchannelTrack:
    """The backchannel track to SETUP, PCMU before PCMA (see the module rules)."""
    try:
        sd = parse_sdp(sdp)
    except SdpError as e:
        raise TalkUnsupportedError(f"the camera offers no audio backchannel ({e})") from e
    base = resolve_control(base_url, sd.control)
    audio = [m for m in sd.media if m.kind == "audio" and m.direction == "sendonly"]
    if not audio:
        raise TalkUnsupportedError("the camera offers no audio backchannel (no sendonly audio track in its SDP)")
    offered: list[str] = []
    choices: list[tuple[int, BackchannelTrack]] = []
    for m in audio:
        for pt in m.payload_types:
            codec, label = _codec_of(m, pt)
            offered.append(label)
            if codec is not None:
                rank = 0 if codec is AudioCodec.PCMU else 1
                choices.append((rank, BackchannelTrack(resolve_control(base, m.control), pt, codec)))
    if not choices:
        raise TalkUnsupportedError(
            f"the camera's backchannel takes {', '.join(offered) or 'no codec'}; Vigil sends G.711 (PCMU/PCMA 8 kHz)"
        )
    return min(choices, key=lambda c: c[0])[1]


def rtp_header(payload_type: int, seq: int, timestamp: int, ssrc: int, marker: bool) -> bytes:
    """The 12-byte RTP fixed header (version 2, no padding, extension or CSRC)."""
    if not 0 <= payload_type <= 127:
        raise ValueError(f"bad RTP payload type {payload_type}")
    return (
        bytes((0x80, (0x80 if marker else 0) | payload_type))
        + (seq & 0xFFFF).to_bytes(2, "big")
        + (timestamp & 0xFFFFFFFF).to_bytes(4, "big")
        + (ssrc & 0xFFFFFFFF).to_bytes(4, "big")
    )


class RtpPacketizer:
    """G.711 bytes in, RTP packets out (one byte per sample at 8 kHz)."""

    def __init__(self, payload_type: int, ssrc: int, first_seq: int, first_timestamp: int) -> None:
        self.payload_type = payload_type
        self.ssrc = ssrc & 0xFFFFFFFF
        self.seq = first_seq & 0xFFFF
        self.timestamp = first_timestamp & 0xFFFFFFFF
        self._spurt_start = True

    def packets(self, g711: bytes) -> list[bytes]:
        out: list[bytes] = []
        for i in range(0, len(g711), SAMPLES_PER_PACKET):
            chunk = g711[i : i + SAMPLES_PER_PACKET]
            out.append(rtp_header(self.payload_type, self.seq, self.timestamp, self.ssrc, self._spurt_start) + chunk)
            self._spurt_start = False
            self.seq = (self.seq + 1) & 0xFFFF
            self.timestamp = (self.timestamp + len(chunk)) & 0xFFFFFFFF
        return out
