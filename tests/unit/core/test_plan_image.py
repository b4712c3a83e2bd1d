"""core/plan_image.py: what a floor-plan upload may be, told by its bytes."""

from __future__ import annotations

import struct

import pytest

from tests.support.plan_images import SVG, jpeg_bytes, png_bytes
from vigil.core.errors import BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from vigil.core.plan_image import MAX_PLAN_BYTES, PlanFormat, inspect_plan_image


def test_png_and_jpeg_with_their_dimensions() -> None:
    png = inspect_plan_image(png_bytes(321, 123))
    assert (png.format, png.width_px, png.height_px) == (PlanFormat.PNG, 321, 123)
    assert png.format.content_type == "image/png"
    jpeg = inspect_plan_image(jpeg_bytes(320, 176))
    assert (jpeg.format, jpeg.width_px, jpeg.height_px) == (PlanFormat.JPEG, 320, 176)
    assert jpeg.format.content_type == "image/jpeg"


@pytest.mark.parametrize(("data", "says"), [
    (SVG, "an SVG document"),
    (b"  <svg xmlns='http://www.w3.org/2000/svg'/>", "an SVG document"),
    (b"GIF89a" + bytes(40), "a GIF image"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(40), "a WebP image"),
    (b"%PDF-1.7\n", "not an image this appliance accepts"),
    (b"", "empty"),
])
def test_anything_else_is_refused_saying_what_is_accepted(data: bytes, says: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as refused:
        inspect_plan_image(data)
    assert "must be a PNG or JPEG image" in str(refused.value)
    assert says in str(refused.value)


def test_a_damaged_header_is_refused() -> None:
    with pytest.raises(UnsupportedMediaTypeError, match="no image header"):
        inspect_plan_image(png_bytes()[:20])
    with pytest.raises(UnsupportedMediaTypeError, match="no frame header"):
        inspect_plan_image(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(5))


def test_size_cap_and_dimension_bounds() -> None:
    with pytest.raises(PayloadTooLargeError, match="at most 8 MiB"):
        inspect_plan_image(png_bytes()[:40] + bytes(MAX_PLAN_BYTES))
    header = png_bytes(64, 48)
    huge = header[:16] + struct.pack(">II", 100_000, 100_000) + header[24:]  # a decompression bomb's header
    with pytest.raises(BadRequestError, match="100000x100000"):
        inspect_plan_image(huge)
    with pytest.raises(BadRequestError, match="8x8"):
        inspect_plan_image(png_bytes(8, 8))
