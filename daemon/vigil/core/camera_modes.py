"""How a camera is read: which of its streams, over which RTSP transport, with which motion
analysis. Pure values.

String enums, so a value is its text wherever text is expected: the index stores a stream's name
("main", "sub") and the segment paths contain it; ffmpeg takes the transport's name. The text is
checked where it comes in (the TOML, the `quality` query parameter) with `parse_choice`."""

from __future__ import annotations

import enum
from typing import TypeVar


class Stream(enum.StrEnum):
    """A camera's stream: the recorded main stream, or the optional substream (live viewing on
    small screens, motion analysis). The values are stored in the index: never change them."""

    MAIN = "main"
    SUB = "sub"


class Transport(enum.StrEnum):
    """How RTSP media arrives (ffmpeg's `rtsp_transport`)."""

    TCP = "tcp"
    UDP = "udp"


class MotionMode(enum.StrEnum):
    """What motion analysis decodes. AUTO is a setting only: `effective` resolves it."""

    AUTO = "auto"  # the substream when the camera has one, else the main stream's keyframes
    SUBSTREAM = "substream"  # every frame of the (small) substream
    KEYFRAMES = "keyframes"  # only the main stream's keyframes
    OFF = "off"

    def effective(self, has_substream: bool) -> MotionMode:
        if self is MotionMode.AUTO:
            return MotionMode.SUBSTREAM if has_substream else MotionMode.KEYFRAMES
        return self


class TalkPath(enum.StrEnum):
    """How the appliance speaks through a camera's loudspeaker (design/intercom.md)."""

    OFF = "off"  # the camera has no loudspeaker, or talking through it is not wanted
    ONVIF = "onvif"  # the ONVIF RTSP backchannel (Profile T/S audio output) on the camera's main URL
    VAPIX = "vapix"  # Axis: HTTP POST of mu-law audio to /axis-cgi/audio/transmit.cgi


class IngestPath(enum.StrEnum):
    """Which RTSP client reads a camera (design/ingest.md)."""

    FFMPEG = "ffmpeg"  # FFmpeg's RTSP demuxer through PyAV (the proven path)
    NATIVE = "native"  # Vigil's own sans-IO RTSP/RTP client: frames on the marker bit, RTCP clock


E = TypeVar("E", bound=enum.StrEnum)


def parse_choice(kind: type[E], text: str) -> E | None:
    """The member of `kind` whose value is exactly `text`, or None (the caller says what is allowed)."""
    return next((member for member in kind if member.value == text), None)
