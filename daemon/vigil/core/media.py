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


StreamItem = SessionStarted | SessionEnded | PacketsDropped | EncodedPacket
