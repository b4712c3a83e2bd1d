"""Floor plans and the pins placed on them: what a request means and whether it makes sense.
Pure: the caller passes the plan's size and the configuration's ids.

A plan belongs to a building (one image per floor; `level` orders the floors) or, with no
building, is the campus plan (one per site). A pin places a camera (with its field of view: the
direction it looks, `rotation_deg` clockwise from the plan's up, its angle and its range), a door,
or, on the campus plan only, a building. Coordinates are in the plan image's pixels, origin at its
top-left corner."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vigil.core.errors import BadRequestError

MAX_FLOOR_CHARS = 40
MAX_PLAN_NAME_CHARS = 80
DEFAULT_FOV_DEG = 90.0
CAMPUS_FLOOR = "campus"


class PinKind(enum.Enum):
    CAMERA = "camera"
    DOOR = "door"
    BUILDING = "building"


@dataclass(frozen=True)
class PlanRequest:
    building_id: str | None  # None: the campus plan
    floor: str
    name: str
    level: int


@dataclass(frozen=True)
class PlacementRequest:
    plan_id: int
    kind: PinKind
    item_id: str
    x_px: float
    y_px: float
    rotation_deg: float
    fov_deg: float | None  # cameras only
    range_px: float | None  # cameras only


def _text(value: object, what: str, max_chars: int, default: str) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise BadRequestError(f"{what} must be text")
    text = value.strip()
    if not text or len(text) > max_chars or not text.isprintable():
        raise BadRequestError(f"{what} must be 1 to {max_chars} printable characters")
    return text


def make_plan_request(building: object, floor: object, name: object, level: object,
                      known_buildings: Mapping[str, str]) -> PlanRequest:
    """`known_buildings`: id -> display name. No building: the campus plan."""
    if building is None or building == "":
        return PlanRequest(None, CAMPUS_FLOOR, _text(name, "name", MAX_PLAN_NAME_CHARS, "Campus"), 0)
    if not isinstance(building, str) or building not in known_buildings:
        raise BadRequestError(f"no building {building!r} in the configuration")
    floor_text = _text(floor, "floor", MAX_FLOOR_CHARS, "1")
    if floor_text == CAMPUS_FLOOR:
        raise BadRequestError(f"floor {CAMPUS_FLOOR!r} is the campus plan's; name the floor otherwise")
    try:
        level_n = 0 if level is None or level == "" else int(str(level))
    except ValueError:
        raise BadRequestError("level must be a whole number (floors are shown in level order)") from None
    if not -20 <= level_n <= 200:
        raise BadRequestError("level must be between -20 and 200")
    plan_name = _text(name, "name", MAX_PLAN_NAME_CHARS, f"{known_buildings[building]}, floor {floor_text}")
    return PlanRequest(building, floor_text, plan_name, level_n)


def _number(body: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequestError(f"{key} must be a number")
    return float(value)


MAX_ID = 2**63 - 1  # SQLite's largest integer


def plan_id_of(body: Mapping[str, Any]) -> int:
    """The body's plan id (a positive integer SQLite can hold), or a 400."""
    plan = body.get("plan")
    if isinstance(plan, bool) or not isinstance(plan, int) or not 0 < plan <= MAX_ID:
        raise BadRequestError("plan must be a plan id")
    return plan


def make_placement(body: Mapping[str, Any], plan_width_px: int, plan_height_px: int) -> PlacementRequest:
    """A pin from a request body, checked against the plan's size (the item's existence and
    building are the service's to check against the configuration)."""
    plan = plan_id_of(body)
    try:
        kind = PinKind(body.get("kind"))
    except ValueError:
        raise BadRequestError("kind must be camera, door or building") from None
    item = body.get("item")
    if not isinstance(item, str) or not item:
        raise BadRequestError("item must be the id of a camera, door or building")
    x, y = _number(body, "x"), _number(body, "y")
    if not (0 <= x <= plan_width_px and 0 <= y <= plan_height_px):
        raise BadRequestError(f"x, y must lie on the plan (0..{plan_width_px}, 0..{plan_height_px} pixels)")
    rotation = _number(body, "rotation_deg", 0.0) % 360.0
    fov: float | None = None
    reach: float | None = None
    if kind is PinKind.CAMERA:
        fov = _number(body, "fov_deg", DEFAULT_FOV_DEG)
        if not 1.0 <= fov <= 360.0:
            raise BadRequestError("fov_deg must be between 1 and 360")
        longest = max(plan_width_px, plan_height_px)
        reach = _number(body, "range_px", round(longest * 0.15, 1))
        if not 1.0 <= reach <= 2 * longest:
            raise BadRequestError(f"range_px must be between 1 and {2 * longest}")
    return PlacementRequest(plan, kind, item, x, y, rotation, fov, reach)
