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
- The track's control URL is `a=control` resolved against the session's base (Content-Base, else
  the DESCRIBE URL): absolute URLs are kept, `*` means the base, a relative one is appended with
  one `/` (what cameras and FFmpeg do; RFC 2326 C.1.1).
- Bounds: SDP text longer than MAX_SDP_CHARS or with more than MAX_SDP_LINES lines is refused.
- `RtpPacketizer` cuts G.711 bytes into packets of at most SAMPLES_PER_PACKET (20 ms) with
  increasing sequence numbers (mod 2^16) and 8 kHz timestamps (mod 2^32) starting at the given
  random initial values; the marker bit is set on the first packet of a talk spurt."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.errors import TalkUnsupportedError
from vigil.core.media import AudioCodec

MAX_SDP_CHARS = 64 * 1024
MAX_SDP_LINES = 1000
SAMPLE_RATE = 8000
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz, one byte per G.711 sample
STATIC_PT = {0: AudioCodec.PCMU, 8: AudioCodec.PCMA}
G711_NAMES = {"PCMU": AudioCodec.PCMU, "PCMA": AudioCodec.PCMA}
BACKCHANNEL_REQUIRE = "www.onvif.org/ver20/backchannel"


@dataclass(frozen=True)
class BackchannelTrack:
    control_url: str
    payload_type: int
    codec: AudioCodec


@dataclass
class _Media:
    kind: str
    formats: list[str]
    direction: str
    control: str | None
    rtpmap: dict[int, str]


def _sections(sdp: str) -> tuple[str | None, str, list[_Media]]:
    if len(sdp) > MAX_SDP_CHARS:
        raise TalkUnsupportedError(f"the camera's SDP is longer than {MAX_SDP_CHARS} characters")
    lines = sdp.splitlines()
    if len(lines) > MAX_SDP_LINES:
        raise TalkUnsupportedError(f"the camera's SDP has more than {MAX_SDP_LINES} lines")
    session_control: str | None = None
    session_direction = "sendrecv"
    media: list[_Media] = []
    for raw in lines:
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            fields = value.split()
            media.append(_Media(fields[0] if fields else "", fields[3:], "", None, {}))
            continue
        if kind != "a":
            continue
        name, _, arg = value.partition(":")
        current = media[-1] if media else None
        if name in ("sendonly", "recvonly", "sendrecv", "inactive"):
            if current is None:
                session_direction = name
            else:
                current.direction = name
        elif name == "control":
            if current is None:
                session_control = arg.strip()
            else:
                current.control = arg.strip()
        elif name == "rtpmap" and current is not None:
            pt, _, encoding = arg.strip().partition(" ")
            if pt.isdigit() and pt.isascii() and len(pt) <= 3:
                current.rtpmap[int(pt)] = encoding.strip()
    for m in media:
        m.direction = m.direction or session_direction
    return session_control, session_direction, media


def resolve_control(base_url: str, control: str | None) -> str:
    """A track's control URL against the session base (see the module rules)."""
    if not control or control == "*":
        return base_url
    if "://" in control:
        return control
    return base_url.rstrip("/") + "/" + control.lstrip("/")


def _codec_of(pt: int, rtpmap: dict[int, str]) -> tuple[AudioCodec | None, str]:
    encoding = rtpmap.get(pt)
    if encoding is None:
        codec = STATIC_PT.get(pt)
        return codec, codec.name if codec is not None else f"payload type {pt}"
    name, _, rest = encoding.partition("/")
    rate, _, channels = rest.partition("/")
    codec = G711_NAMES.get(name.upper())
    if codec is None or rate.strip() != str(SAMPLE_RATE) or channels.strip() not in ("", "1"):
        return None, encoding
    return codec, encoding


def pick_backchannel(sdp: str, base_url: str) -> BackchannelTrack:
    """The backchannel track to SETUP, PCMU before PCMA (see the module rules)."""
    session_control, _, media = _sections(sdp)
    base = resolve_control(base_url, session_control)
    audio = [m for m in media if m.kind == "audio" and m.direction == "sendonly"]
    if not audio:
        raise TalkUnsupportedError("the camera offers no audio backchannel (no sendonly audio track in its SDP)")
    offered: list[str] = []
    choices: list[tuple[int, BackchannelTrack]] = []
    for m in audio:
        for fmt in m.formats:
            if not (fmt.isdigit() and fmt.isascii() and int(fmt) <= 127):
                offered.append(fmt)
                continue
            codec, label = _codec_of(int(fmt), m.rtpmap)
            offered.append(label)
            if codec is not None:
                rank = 0 if codec is AudioCodec.PCMU else 1
                choices.append((rank, BackchannelTrack(resolve_control(base, m.control), int(fmt), codec)))
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
