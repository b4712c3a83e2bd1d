"""What a bookmark or an evidence hold may say: checked here, purely, for the API and the CLI.

A hold names cameras, whole buildings (their cameras at the time of the request), or every
camera (one row with no camera: it also covers cameras added later). Each named camera becomes
one hold row, released on its own."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from vigil.core.errors import BadRequestError, NotFoundError

MAX_REASON_CHARS = 500
MAX_CASE_ID_CHARS = 100
MAX_HEADLINE_CHARS = 200
MAX_DESCRIPTION_CHARS = 4000


@dataclass(frozen=True)
class HoldRequest:
    cameras: tuple[str | None, ...]  # one hold row each; (None,): every camera
    buildings: tuple[str, ...]  # what permission is checked against (every building for (None,))
    start_wall_ns: int
    end_wall_ns: int
    reason: str
    case_id: str | None
    until_wall_ns: int | None


@dataclass(frozen=True)
class BookmarkRequest:
    camera_id: str | None
    building_id: str
    start_wall_ns: int
    end_wall_ns: int
    headline: str
    description: str


def check_text(name: str, value: object, max_chars: int, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        need = "is required: " if required else "must be "
        raise BadRequestError(f"{name} {need}text of 1-{max_chars} characters")
    return value.strip()


def check_range(start_ns: int | None, end_ns: int | None) -> tuple[int, int]:
    if start_ns is None or end_ns is None:
        raise BadRequestError("start and end are required")
    if end_ns <= start_ns:
        raise BadRequestError("end must be after start")
    return start_ns, end_ns


def make_hold(*, cameras: Sequence[str], buildings: Sequence[str], all_cameras: bool, start_ns: int | None,
              end_ns: int | None, reason: object, case_id: object, until_ns: int | None,
              camera_buildings: Mapping[str, str], known_buildings: Collection[str], now_ns: int) -> HoldRequest:
    """`camera_buildings`: every configured camera's building."""
    if all_cameras and (cameras or buildings):
        raise BadRequestError("name cameras or buildings, or set all_cameras, not both")
    if not all_cameras and not cameras and not buildings:
        raise BadRequestError("name the cameras or buildings to hold (or set all_cameras)")
    start, end = check_range(start_ns, end_ns)
    text = check_text("reason", reason, MAX_REASON_CHARS, required=True)
    case = check_text("case_id", case_id, MAX_CASE_ID_CHARS, required=False)
    assert text is not None
    if until_ns is not None and until_ns <= now_ns:
        raise BadRequestError("until must be in the future (leave it out to hold until released)")
    for c in cameras:
        if c not in camera_buildings:
            raise NotFoundError(f"no camera {c!r}")
    for b in buildings:
        if b not in known_buildings:
            raise NotFoundError(f"no building {b!r}")
    if all_cameras:
        return HoldRequest((None,), tuple(sorted(known_buildings)), start, end, text, case, until_ns)
    held = dict.fromkeys(cameras)
    held.update(dict.fromkeys(c for c, b in sorted(camera_buildings.items()) if b in buildings))
    if not held:
        raise BadRequestError(f"buildings {sorted(buildings)} have no cameras")
    return HoldRequest(tuple(held), tuple(sorted({camera_buildings[c] for c in held})), start, end, text, case,
                       until_ns)


def make_bookmark(*, camera_id: object, building_id: object, start_ns: int | None, end_ns: int | None,
                  headline: object, description: object, camera_buildings: Mapping[str, str],
                  known_buildings: Collection[str]) -> BookmarkRequest:
    """A bookmark is about one camera, or about a whole building (`building_id`). Without `end`
    it marks one moment."""
    if (camera_id is None) == (building_id is None):
        raise BadRequestError("a bookmark names either a camera or a building")
    if camera_id is not None:
        if not isinstance(camera_id, str) or camera_id not in camera_buildings:
            raise NotFoundError(f"no camera {camera_id!r}")
        building = camera_buildings[camera_id]
    else:
        if not isinstance(building_id, str) or building_id not in known_buildings:
            raise NotFoundError(f"no building {building_id!r}")
        building = building_id
    if start_ns is None:
        raise BadRequestError("start is required")
    end = start_ns if end_ns is None else end_ns
    if end < start_ns:
        raise BadRequestError("end must not be before start")
    title = check_text("headline", headline, MAX_HEADLINE_CHARS, required=True)
    assert title is not None
    if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS):
        raise BadRequestError(f"description must be text of at most {MAX_DESCRIPTION_CHARS} characters")
    return BookmarkRequest(camera_id if isinstance(camera_id, str) else None, building, start_ns, end, title,
                           description or "")
