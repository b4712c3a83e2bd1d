"""Small floor-plan images for tests: a PNG written by hand (zlib + the chunk layout of RFC 2083,
so the decoder that judges it is not the code that made it) and a JPEG encoded by FFmpeg (PyAV)."""

from __future__ import annotations

import io
import struct
import zlib

import av
import numpy as np
import numpy.typing as npt


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def plan_picture(width: int, height: int) -> npt.NDArray[np.uint8]:
    """A light plan with dark walls: a frame, a corridor and a few rooms."""
    img = np.full((height, width, 3), 245, np.uint8)
    img[:4], img[-4:], img[:, :4], img[:, -4:] = 40, 40, 40, 40
    img[height // 2 - 2:height // 2 + 2, :] = 40
    for x in range(width // 4, width, width // 4):
        img[:, x - 2:x + 2] = 40
    return img


def png_bytes(width: int = 320, height: int = 200, picture: npt.NDArray[np.uint8] | None = None) -> bytes:
    rgb = plan_picture(width, height) if picture is None else picture
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(rgb.shape[0]))  # filter 0 per row
    header = struct.pack(">IIBBBBB", rgb.shape[1], rgb.shape[0], 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))


def jpeg_bytes(width: int = 320, height: int = 200) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="image2pipe") as container:
        stream = container.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuvj420p"
        frame = av.VideoFrame.from_ndarray(plan_picture(width, height), format="rgb24").reformat(format="yuvj420p")
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return out.getvalue()


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
       b'<script>alert(1)</script><rect width="100" height="100"/></svg>')
