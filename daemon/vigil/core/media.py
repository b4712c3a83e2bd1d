"""Values that flow from a camera session to its consumers (recorder, later motion and WebRTC).

All media timestamps are normalized 90 kHz ticks, monotonic within one session."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Codec(enum.Enum):
    H264 = "h264"
    H265 = "hevc"


class DownReason(enum.Enum):
    """Why a camera session ended or could not start: recorded with every gap."""

    TIMEOUT = "timeout"
    REFUSED = "refused"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    BAD_STREAM = "bad_stream"
    ENDED = "ended"
    UNREACHABLE = "unreachable"
    OVERFLOW = "overflow"
    SHUTDOWN = "shutdown"
    NO_RESOURCES = "no_resources"  # the appliance ran out of file descriptors or memory: not the camera
    ERROR = "error"
    # The recorder paused: the recording disk (or the index) is full, or a write failed (core/write_failure.py).
    DISK_FULL = "disk_full"
    WRITE_ERROR = "write_error"


@dataclass(frozen=True)
class StreamInfo:
    """What a consumer needs to set up for a session's video stream."""

    codec: Codec
    width: int
    height: int
    # Annex-B parameter sets (SPS/PPS, plus VPS for H.265) from the SDP; empty when the camera
    # sends them only in-band.
    extradata: bytes


@dataclass(frozen=True)
class SessionStarted:
    """A camera session is up; packets that follow belong to it."""

    info: StreamInfo
    wall_ns: int


@dataclass(frozen=True)
class SessionEnded:
    """A camera session ended; no packets follow until the next SessionStarted."""

    reason: DownReason
    wall_ns: int


@dataclass(frozen=True)
class PacketsDropped:
    """This consumer fell behind and lost packets; the next packet is a keyframe."""

    count: int


@dataclass(frozen=True)
class EncodedPacket:
    """One access unit (Annex-B), timestamps normalized."""

    data: bytes
    dts_90k: int
    pts_90k: int
    is_keyframe: bool
    # Wall time when the packet reached the daemon: for anchoring, never for media time.
    received_wall_ns: int
    # The camera's own wall time of the picture (RTCP sender reports; the native ingest only),
    # None when unknown.
    camera_wall_ns: int | None = None


class AudioCodec(enum.Enum):
    """A camera's audio codec, named as FFmpeg names its decoder."""

    PCMU = "pcm_mulaw"  # G.711 mu-law: WebRTC carries it as it is (static payload type 0)
    PCMA = "pcm_alaw"  # G.711 A-law (payload type 8)
    AAC = "aac"
    OPUS = "opus"


@dataclass(frozen=True)
class AudioInfo:
    """What a consumer needs to set up for a session's audio track."""

    codec: AudioCodec
    sample_rate: int
    channels: int
    # AAC's AudioSpecificConfig from the SDP (`config=`); empty for G.711 and Opus.
    extradata: bytes


@dataclass(frozen=True)
class AudioStarted:
    """A camera session with an audio track is up; AudioPackets that follow belong to it. Published
    on the camera's audio fan-out (never on the video one), after the video's SessionStarted."""

    info: AudioInfo
    wall_ns: int


@dataclass(frozen=True)
class AudioPacket:
    """One encoded audio frame (G.711: any number of samples; AAC: one raw AAC frame, no ADTS).

    `pts_90k` is on the session's video media clock (the same origin as the video's dts_90k), so
    audio and video line up; `duration_90k` as the camera's packet says, 0 when unknown."""

    data: bytes
    pts_90k: int
    duration_90k: int
    received_wall_ns: int

    @property
    def is_keyframe(self) -> bool:
        """Every audio frame decodes on its own: the fan-out may resume a consumer at any of them."""
        return True


StreamItem = SessionStarted | SessionEnded | PacketsDropped | EncodedPacket | AudioStarted | AudioPacket
