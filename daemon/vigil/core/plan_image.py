"""What a floor-plan upload may be: a PNG or JPEG image, told apart by its first bytes (never by
the Content-Type a client claims), no larger than MAX_PLAN_BYTES and MAX_PLAN_SIDE_PX on a side.
SVG (which can carry script), GIF, WebP and anything else are refused with a message naming what
is accepted. Pure: the bytes come in, the kind and the dimensions the header declares come out;
plans/decode.py then decodes the whole image and checks it has those dimensions."""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from vigil.core.errors import BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError

MAX_PLAN_BYTES = 8 * 1024 * 1024
MAX_PLAN_SIDE_PX = 8192
MIN_PLAN_SIDE_PX = 16
ACCEPTED = "a floor plan must be a PNG or JPEG image"

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
# JPEG start-of-frame markers (every SOFn but DHT C4, JPG C8 and DAC CC) carry the dimensions.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class PlanFormat(enum.Enum):
    PNG = "png"
    JPEG = "jpeg"

    @property
    def content_type(self) -> str:
        return f"image/{self.value}"


@dataclass(frozen=True)
class PlanImageInfo:
    format: PlanFormat
    width_px: int
    height_px: int
    size_bytes: int


def _what_it_looks_like(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg")) or b"<svg" in head:
        return "an SVG document"
    if head.startswith(b"gif8"):
        return "a GIF image"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    if not data:
        return "empty"
    return "not an image this appliance accepts"


def _png_size(data: bytes) -> tuple[int, int]:
    # The first chunk must be IHDR (length 13): width, height as big-endian 32-bit.
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise UnsupportedMediaTypeError(f"{ACCEPTED}: this PNG has no image header (truncated or damaged)")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF_MARKERS:
            if i + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return int(width), int(height)
        if marker == 0xDA or length < 2:  # image data before any frame header
            break
        i += 2 + length
    raise UnsupportedMediaTypeError(f"{ACCEPTED}: this JPEG has no frame header (truncated or damaged)")


def inspect_plan_image(data: bytes) -> PlanImageInfo:
    """The upload's format and declared dimensions, or why it is refused: 413 over the size cap,
    415 for anything but PNG/JPEG (SVG included), 400 for dimensions out of bounds."""
    if len(data) > MAX_PLAN_BYTES:
        raise PayloadTooLargeError(f"a floor plan may be at most {MAX_PLAN_BYTES // (1024 * 1024)} MiB;"
                                   f" this one is {len(data)} bytes")
    if data.startswith(_PNG_MAGIC):
        fmt, (width, height) = PlanFormat.PNG, _png_size(data)
    elif data.startswith(_JPEG_MAGIC):
        fmt, (width, height) = PlanFormat.JPEG, _jpeg_size(data)
    else:
        raise UnsupportedMediaTypeError(f"{ACCEPTED}; this upload is {_what_it_looks_like(data)}")
    if not (MIN_PLAN_SIDE_PX <= width <= MAX_PLAN_SIDE_PX and MIN_PLAN_SIDE_PX <= height <= MAX_PLAN_SIDE_PX):
        raise BadRequestError(f"a floor plan must be {MIN_PLAN_SIDE_PX} to {MAX_PLAN_SIDE_PX} pixels on each side;"
                              f" this one is {width}x{height}")
    return PlanImageInfo(fmt, width, height, len(data))
