"""Decode a floor-plan upload in full (FFmpeg's PNG and JPEG decoders, through PyAV) and check it
has the dimensions its header declared (core/plan_image.py). A file that only starts like an image
(a damaged PNG, an SVG behind a PNG signature) is refused here; the header check before it keeps a
decompression bomb from being decoded at all."""

from __future__ import annotations

import io

import av

from vigil.core.errors import UnsupportedMediaTypeError
from vigil.core.plan_image import ACCEPTED, PlanFormat, PlanImageInfo

_DEMUXERS = {PlanFormat.PNG: "png_pipe", PlanFormat.JPEG: "jpeg_pipe"}
# FFmpeg conceals damage by default (a truncated JPEG decodes, grey at the bottom); an upload that
# needs concealing is refused: checksums (PNG's CRCs), bitstream and buffer errors all fail.
_STRICT = {"err_detect": "crccheck+bitstream+buffer+explode"}


def decoded_size(data: bytes, fmt: PlanFormat) -> tuple[int, int]:
    """The width and height of the decoded picture, or UnsupportedMediaTypeError if it does not decode."""
    try:
        with av.open(io.BytesIO(data), mode="r", format=_DEMUXERS[fmt]) as container:
            stream = container.streams.video[0]
            stream.codec_context.options = _STRICT
            frame = next(container.decode(stream))
            return int(frame.width), int(frame.height)
    except (av.FFmpegError, StopIteration, ValueError) as error:
        raise UnsupportedMediaTypeError(f"{ACCEPTED}: this {fmt.name} does not decode ({error})") from None


def check_decodes(data: bytes, info: PlanImageInfo) -> None:
    width, height = decoded_size(data, info.format)
    if (width, height) != (info.width_px, info.height_px):
        raise UnsupportedMediaTypeError(f"{ACCEPTED}: its header says {info.width_px}x{info.height_px} but it"
                                        f" decodes to {width}x{height}")
