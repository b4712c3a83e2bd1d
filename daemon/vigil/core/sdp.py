"""SDP as cameras send it in an RTSP DESCRIBE answer (RFC 8866 subset; RFC 2326 C.1 for controls),
sans-IO: text in, a `SessionDescription` out, and the tracks an ingest sets up.

Rules:
- The text must begin with a `v=` line (after blank lines); every other line that is not
  `<letter>=<value>` is skipped (cameras send stray blank lines, NULs, trailing spaces). Lines are
  split on CRLF or LF; leading/trailing white space and NULs are dropped.
- Bounds: text longer than MAX_SDP_CHARS, more than MAX_SDP_LINES lines or more than MAX_MEDIA
  `m=` sections is refused with `SdpError` (a ValueError), the only exception `parse_sdp` raises.
- An `m=` section's payload types are its numeric formats 0-127; other formats are left out. Its
  direction is its own `a=sendonly|recvonly|sendrecv|inactive`, else the session's, else
  sendrecv. `a=rtpmap` and `a=fmtp` lines that cannot be read are skipped; encodings are
  upper-cased; a missing channel count is 1. Static payload types 0 (PCMU) and 8 (PCMA) are known
  without `a=rtpmap` (RFC 3551).
- A track's control URL is `a=control` resolved against the session's base (the session-level
  control resolved against Content-Base, else Content-Location, else the DESCRIBE URL): absolute
  URLs are kept, `*` or none means the base, a relative one is appended with one `/` (what
  cameras and FFmpeg do).
- `pick_tracks`: the first H.264/H.265 payload of the first video section not `inactive`; its
  extradata is the Annex-B (4-byte start code) parameter sets of `sprop-parameter-sets` (H.264,
  comma-separated base64) or `sprop-vps`, `sprop-sps`, `sprop-pps` (H.265), undecodable entries
  left out. With `want_audio`, the first audio payload the camera sends (not `inactive`, nor
  `a=sendonly`: in an ONVIF DESCRIBE that is the backchannel, a track the camera receives) in PCMU/PCMA (any rate
  the rtpmap gives), AAC (`mpeg4-generic` with `mode=AAC-hbr` and a hex `config=`, which becomes
  AudioInfo.extradata) or Opus (channels as the rtpmap says, 2 for `opus/48000/2`). No usable
  video is an `SdpError` naming what the camera offers; no usable audio is None."""

from __future__ import annotations

import binascii
from dataclasses import dataclass

from vigil.core.media import AudioCodec, AudioInfo, Codec

MAX_SDP_CHARS = 64 * 1024
MAX_SDP_LINES = 1000
MAX_MEDIA = 16
DIRECTIONS = frozenset({"sendonly", "recvonly", "sendrecv", "inactive"})
_START_CODE = b"\x00\x00\x00\x01"
_VIDEO_CODECS = {"H264": Codec.H264, "H265": Codec.H265, "HEVC": Codec.H265}
_G711 = {"PCMU": AudioCodec.PCMU, "PCMA": AudioCodec.PCMA}


class SdpError(ValueError):
    """An SDP that cannot be read, or that offers nothing Vigil can record."""


@dataclass(frozen=True)
class RtpMap:
    payload_type: int
    encoding: str  # upper-cased
    clock_rate_hz: int
    channels: int


STATIC_RTPMAPS = {0: RtpMap(0, "PCMU", 8000, 1), 8: RtpMap(8, "PCMA", 8000, 1)}


@dataclass(frozen=True)
class MediaSection:
    kind: str
    payload_types: tuple[int, ...]
    rtpmaps: tuple[RtpMap, ...]
    fmtp: tuple[tuple[int, str], ...]
    control: str | None
    direction: str

    def fmtp_params(self, payload_type: int) -> dict[str, str]:
        """The `a=fmtp` parameters of a payload type (names lower-cased, values stripped)."""
        params: dict[str, str] = {}
        for pt, text in self.fmtp:
            if pt != payload_type:
                continue
            for item in text.split(";"):
                key, _, value = item.partition("=")
                if key.strip():
                    params[key.strip().lower()] = value.strip()
        return params

    def rtpmap(self, payload_type: int) -> RtpMap | None:
        for rtpmap in self.rtpmaps:
            if rtpmap.payload_type == payload_type:
                return rtpmap
        return STATIC_RTPMAPS.get(payload_type)


@dataclass(frozen=True)
class SessionDescription:
    control: str | None
    media: tuple[MediaSection, ...]


@dataclass(frozen=True)
class VideoTrack:
    control_url: str
    payload_type: int
    codec: Codec
    clock_rate_hz: int
    extradata: bytes


@dataclass(frozen=True)
class AudioTrack:
    control_url: str
    payload_type: int
    info: AudioInfo
    clock_rate_hz: int
    fmtp: tuple[tuple[str, str], ...]


def _small_int(text: str, limit: int) -> int | None:
    text = text.strip()
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= limit else None


def _rtpmap(arg: str) -> RtpMap | None:
    pt_text, _, encoding = arg.strip().partition(" ")
    pt = _small_int(pt_text, 127)
    name, _, rest = encoding.strip().partition("/")
    rate_text, _, channels_text = rest.partition("/")
    rate = _small_int(rate_text, 10_000_000)
    channels = _small_int(channels_text, 255) if channels_text.strip() else 1
    if pt is None or not name or rate is None or rate == 0 or channels is None or channels == 0:
        return None
    return RtpMap(pt, name.upper(), rate, channels)


class _Builder:
    def __init__(self, kind: str, formats: list[str]) -> None:
        self.kind = kind
        self.payload_types = tuple(pt for f in formats if (pt := _small_int(f, 127)) is not None)
        self.rtpmaps: list[RtpMap] = []
        self.fmtp: list[tuple[int, str]] = []
        self.control: str | None = None
        self.direction: str | None = None

    def build(self, session_direction: str) -> MediaSection:
        return MediaSection(self.kind, self.payload_types, tuple(self.rtpmaps), tuple(self.fmtp), self.control,
                            self.direction or session_direction)


def parse_sdp(text: str) -> SessionDescription:
    """The session control and media sections of an SDP (see the module rules)."""
    if len(text) > MAX_SDP_CHARS:
        raise SdpError(f"the SDP is longer than {MAX_SDP_CHARS} characters")
    lines = text.splitlines()
    if len(lines) > MAX_SDP_LINES:
        raise SdpError(f"the SDP has more than {MAX_SDP_LINES} lines")
    session_control: str | None = None
    session_direction = "sendrecv"
    media: list[_Builder] = []
    seen_version = False
    for raw in lines:
        line = raw.strip(" \t\0\ufeff")
        if not line:
            continue
        if not seen_version:
            if not line.startswith("v="):
                raise SdpError(f"not an SDP (it begins with {line[:30]!r})")
            seen_version = True
            continue
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            if len(media) >= MAX_MEDIA:
                raise SdpError(f"the SDP has more than {MAX_MEDIA} media sections")
            fields = value.split()
            media.append(_Builder(fields[0].lower() if fields else "", fields[3:]))
            continue
        if kind != "a":
            continue
        name, _, arg = value.partition(":")
        current = media[-1] if media else None
        if name in DIRECTIONS:
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
            rtpmap = _rtpmap(arg)
            if rtpmap is not None:
                current.rtpmaps.append(rtpmap)
        elif name == "fmtp" and current is not None:
            pt_text, _, params = arg.strip().partition(" ")
            pt = _small_int(pt_text, 127)
            if pt is not None:
                current.fmtp.append((pt, params.strip()))
    if not seen_version:
        raise SdpError("not an SDP (empty)")
    return SessionDescription(session_control, tuple(m.build(session_direction) for m in media))


def resolve_control(base_url: str, control: str | None) -> str:
    """A track's control URL against the session base (see the module rules)."""
    if not control or control == "*":
        return base_url
    if "://" in control:
        return control
    return base_url.rstrip("/") + "/" + control.lstrip("/")


def _annexb(values: list[str]) -> bytes:
    out = bytearray()
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            try:
                nal = binascii.a2b_base64(item + "=" * (-len(item) % 4), strict_mode=True)
            except binascii.Error:
                continue
            if nal:
                out += _START_CODE + nal
    return bytes(out)


def _video_extradata(codec: Codec, params: dict[str, str]) -> bytes:
    if codec is Codec.H264:
        return _annexb([params.get("sprop-parameter-sets", "")])
    return _annexb([params.get(key, "") for key in ("sprop-vps", "sprop-sps", "sprop-pps")])


def _audio_info(rtpmap: RtpMap, params: dict[str, str]) -> AudioInfo | None:
    g711 = _G711.get(rtpmap.encoding)
    if g711 is not None:
        return AudioInfo(g711, rtpmap.clock_rate_hz, rtpmap.channels, b"")
    if rtpmap.encoding == "OPUS":
        return AudioInfo(AudioCodec.OPUS, rtpmap.clock_rate_hz, rtpmap.channels, b"")
    if rtpmap.encoding == "MPEG4-GENERIC" and params.get("mode", "").lower() == "aac-hbr":
        config = params.get("config", "")
        try:
            extradata = bytes.fromhex(config)
        except ValueError:
            return None
        return AudioInfo(AudioCodec.AAC, rtpmap.clock_rate_hz, rtpmap.channels, extradata) if extradata else None
    return None


def _sends(m: MediaSection) -> bool:
    """The camera sends this section (`sendonly` is a track the camera receives: a backchannel)."""
    return m.direction in ("sendrecv", "recvonly")


def _offered(sd: SessionDescription) -> str:
    labels: list[str] = []
    for m in sd.media:
        for pt in m.payload_types:
            rtpmap = m.rtpmap(pt)
            label = f"{m.kind} {rtpmap.encoding}/{rtpmap.clock_rate_hz}" if rtpmap else f"{m.kind} {pt}"
            labels.append(label + (" (inactive)" if m.direction == "inactive" else ""))
    text = ", ".join(labels[:12]) + (", ..." if len(labels) > 12 else "")
    return text[:300] or "nothing"


def pick_tracks(sd: SessionDescription, base_url: str, want_audio: bool) -> tuple[VideoTrack, AudioTrack | None]:
    """The video track (and audio track, when wanted and offered) to SETUP (see the module rules)."""
    base = resolve_control(base_url, sd.control)
    video: VideoTrack | None = None
    for m in sd.media:
        if m.kind != "video" or m.direction == "inactive":
            continue
        for pt in m.payload_types:
            rtpmap = m.rtpmap(pt)
            codec = _VIDEO_CODECS.get(rtpmap.encoding) if rtpmap else None
            if rtpmap is not None and codec is not None:
                extradata = _video_extradata(codec, m.fmtp_params(pt))
                video = VideoTrack(resolve_control(base, m.control), pt, codec, rtpmap.clock_rate_hz, extradata)
                break
        if video is not None:
            break
    if video is None:
        raise SdpError(f"the camera offers no H.264/H.265 video (it offers {_offered(sd)})")
    if not want_audio:
        return video, None
    for m in sd.media:
        if m.kind != "audio" or not _sends(m):
            continue
        for pt in m.payload_types:
            rtpmap = m.rtpmap(pt)
            params = m.fmtp_params(pt)
            info = _audio_info(rtpmap, params) if rtpmap is not None else None
            if rtpmap is not None and info is not None:
                control = resolve_control(base, m.control)
                return video, AudioTrack(control, pt, info, rtpmap.clock_rate_hz, tuple(params.items()))
    return video, None
