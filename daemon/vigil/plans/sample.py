"""The demo's sample campus plan: a building, a road, a parking lot and lawns drawn with numpy
and written as a PNG (zlib, RFC 2083's chunk layout; tens of kilobytes), with the demo building, its
camera and its door placed on it, so a newcomer to `vigil demo` sees the map at once."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

WIDTH_PX, HEIGHT_PX = 1200, 800
BUILDING_BOX = (160, 140, 620, 460)  # x0, y0, x1, y1
CAMERA_AT = (620.0, 420.0)  # the building's south-east corner, looking at the parking lot
CAMERA_ROTATION_DEG, CAMERA_FOV_DEG, CAMERA_RANGE_PX = 120.0, 70.0, 300.0
DOOR_AT = (620.0, 380.0)  # the main entrance in the east wall, in the camera's view

_LAWN, _ROAD, _LOT, _STRIPE, _WALL, _FLOOR, _PATH = (
    (214, 230, 200), (120, 124, 130), (176, 180, 186), (250, 250, 250), (40, 46, 56), (244, 240, 230),
    (226, 214, 186))


def _box(img: npt.NDArray[np.uint8], x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
    img[y0:y1, x0:x1] = colour


def campus_picture() -> npt.NDArray[np.uint8]:
    img = np.empty((HEIGHT_PX, WIDTH_PX, 3), np.uint8)
    img[:] = _LAWN
    _box(img, 0, 560, WIDTH_PX, 640, _ROAD)  # the street
    _box(img, 700, 200, 1120, 520, _LOT)  # the parking lot, its bays
    for x in range(720, 1110, 44):
        _box(img, x, 210, x + 4, 300, _STRIPE)
        _box(img, x, 420, x + 4, 510, _STRIPE)
    _box(img, 640, 340, 700, 380, _PATH)  # from the building to the lot
    _box(img, 300, 460, 360, 560, _PATH)  # from the entrance to the street
    x0, y0, x1, y1 = BUILDING_BOX
    _box(img, x0, y0, x1, y1, _WALL)
    _box(img, x0 + 8, y0 + 8, x1 - 8, y1 - 8, _FLOOR)
    _box(img, x0 + 8, (y0 + y1) // 2 - 4, x1 - 8, (y0 + y1) // 2 + 4, _WALL)  # the corridor's wall
    for x in range(x0 + 115, x1 - 8, 115):
        _box(img, x - 4, y0 + 8, x + 4, y1 - 8, _WALL)
    _box(img, 300, y1 - 8, 360, y1, _FLOOR)  # the entrance
    return img


def png(picture: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit RGB PNG of the picture."""
    height, width, _ = picture.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + picture[y].tobytes() for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def campus_png() -> bytes:
    return png(campus_picture())
