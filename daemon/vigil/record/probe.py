"""Width and height of a stream from its parameter sets and one keyframe.

Decodes that single keyframe (recording itself never decodes): needed only when the SDP did
not say, or when the camera changed its parameter sets mid-stream."""

from __future__ import annotations

import logging

import av

from vigil.core.media import Codec

log = logging.getLogger(__name__)


def probe_dimensions(codec: Codec, extradata: bytes, keyframe: bytes) -> tuple[int, int] | None:
    try:
        ctx = av.CodecContext.create(codec.value, "r")
        for packet in ctx.parse(extradata + keyframe) + ctx.parse(None):
            for frame in ctx.decode(packet):
                if isinstance(frame, av.VideoFrame):
                    return frame.width, frame.height
        for frame in ctx.decode(None):
            if isinstance(frame, av.VideoFrame):
                return frame.width, frame.height
    except av.FFmpegError as error:
        log.warning("could not read the picture size from a keyframe: %s", error)
    return None
