"""A camera's latest keyframe as a JPEG (the one decode the API does, on a worker thread)."""

from __future__ import annotations

from fractions import Fraction

import av

from vigil.core.errors import NotFoundError
from vigil.core.media import Codec


def keyframe_to_jpeg(codec: Codec, extradata: bytes, keyframe: bytes, max_width: int = 1280) -> bytes:
    decoder = av.CodecContext.create(codec.value, "r")
    packets = decoder.parse(extradata + keyframe) + decoder.parse(None)  # the parser holds the last unit
    frames = [f for p in packets for f in decoder.decode(p)]
    frames += list(decoder.decode(None))
    video = [f for f in frames if isinstance(f, av.VideoFrame)]
    if not video:
        raise NotFoundError("no picture could be decoded from the camera's latest keyframe")
    return frame_jpeg(video[0], max_width)


def frame_jpeg(frame: av.VideoFrame, max_width: int) -> bytes:
    """A decoded picture as JPEG, scaled down to at most `max_width` pixels wide (even sizes)."""
    width = min(frame.width, max_width) // 2 * 2
    height = max(2, round(frame.height * width / frame.width) // 2 * 2)
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    packets = encoder.encode(frame.reformat(width=width, height=height, format="yuvj420p"))
    packets += encoder.encode(None)
    return b"".join(bytes(p) for p in packets)
