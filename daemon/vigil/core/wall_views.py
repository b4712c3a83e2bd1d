"""What a saved live-wall view may say: a name, a grid of 1, 4, 9 or 16 tiles, and the camera
shown in each tile (or none). Checked here, purely, for the API.

A view is its owner's alone. Cameras the viewer may no longer see (their buildings changed, the
camera left the configuration) are shown as empty tiles, never named (`shown_tiles`)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from vigil.core.errors import BadRequestError, NotFoundError

LAYOUTS = (1, 4, 9, 16)  # tiles of a square grid: 1x1, 2x2, 3x3, 4x4
MAX_NAME_CHARS = 100
MAX_VIEWS_PER_USER = 100
MAX_CAMERA_ID_CHARS = 200

Tiles = tuple[str | None, ...]  # the camera of each tile in reading order; None: an empty tile


@dataclass(frozen=True)
class ViewRequest:
    name: str
    layout: int  # one of LAYOUTS
    cameras: Tiles  # at most `layout` tiles, with no trailing empty ones

    @property
    def named_cameras(self) -> tuple[str, ...]:
        return tuple(c for c in self.cameras if c is not None)


def make_view(*, name: object, layout: object, cameras: object, known_cameras: Collection[str]) -> ViewRequest:
    """The request's view, or BadRequestError (400) saying what is wrong; NotFoundError (404)
    for a camera that is not configured."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise BadRequestError(f"name is required: text of 1-{MAX_NAME_CHARS} characters")
    if isinstance(layout, bool) or layout not in LAYOUTS:
        raise BadRequestError("layout must be 1, 4, 9 or 16 (tiles of the grid)")
    assert isinstance(layout, int)
    if not isinstance(cameras, list) or not all(c is None or isinstance(c, str) for c in cameras):
        raise BadRequestError("cameras must be a list of camera ids (null for an empty tile)")
    tiles: list[str | None] = list(cameras)
    while tiles and tiles[-1] is None:
        tiles.pop()
    if len(tiles) > layout:
        raise BadRequestError(f"a {layout}-tile view shows at most {layout} cameras; {len(tiles)} given")
    named = [c for c in tiles if c is not None]
    if len(set(named)) != len(named):
        raise BadRequestError("a camera may appear only once in a view")
    for camera in named:
        if len(camera) > MAX_CAMERA_ID_CHARS or camera not in known_cameras:
            raise NotFoundError(f"no camera {camera[:MAX_CAMERA_ID_CHARS]!r}")
    return ViewRequest(name.strip(), layout, tuple(tiles))


def shown_tiles(tiles: Tiles, sees: Callable[[str], bool]) -> Tiles:
    """The tiles as the viewer gets them: a camera they may not see becomes an empty tile."""
    shown = [c if c is not None and sees(c) else None for c in tiles]
    while shown and shown[-1] is None:
        shown.pop()
    return tuple(shown)
