"""What a hold or bookmark request may say."""

from __future__ import annotations

from typing import Any

import pytest

from vigil.core.errors import BadRequestError, NotFoundError
from vigil.core.holds import make_bookmark, make_hold

CAMS = {"hs-1": "hs", "hs-2": "hs", "ms-1": "ms"}
BUILDINGS = {"hs", "ms", "empty"}


def hold(**kw: Any) -> Any:
    args: dict[str, Any] = {"cameras": [], "buildings": [], "all_cameras": False, "start_ns": 10, "end_ns": 20,
                            "reason": "case 7", "case_id": None, "until_ns": None, "camera_buildings": CAMS,
                            "known_buildings": BUILDINGS, "now_ns": 100}
    return make_hold(**(args | kw))


def test_hold_expands_buildings_to_cameras_once_each() -> None:
    req = hold(cameras=["ms-1", "hs-1"], buildings=["hs"])
    assert req.cameras == ("ms-1", "hs-1", "hs-2") and req.buildings == ("hs", "ms")
    every = hold(all_cameras=True)
    assert every.cameras == (None,) and every.buildings == ("empty", "hs", "ms")


@pytest.mark.parametrize(("kw", "error", "needle"), [
    ({"cameras": ["hs-1"], "reason": "  "}, BadRequestError, "reason is required"),
    ({"cameras": ["hs-1"], "reason": None}, BadRequestError, "reason is required"),
    ({"cameras": ["hs-1"], "end_ns": 5}, BadRequestError, "end must be after start"),
    ({"cameras": ["hs-1"], "start_ns": None}, BadRequestError, "start and end are required"),
    ({"cameras": ["nope"]}, NotFoundError, "no camera"),
    ({"buildings": ["nope"]}, NotFoundError, "no building"),
    ({"buildings": ["empty"]}, BadRequestError, "no cameras"),
    ({}, BadRequestError, "name the cameras"),
    ({"all_cameras": True, "cameras": ["hs-1"]}, BadRequestError, "not both"),
    ({"cameras": ["hs-1"], "until_ns": 100}, BadRequestError, "until must be in the future"),
    ({"cameras": ["hs-1"], "case_id": 5}, BadRequestError, "case_id"),
])
def test_bad_holds(kw: dict[str, Any], error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match=needle):
        hold(**kw)


def test_bookmarks() -> None:
    b = make_bookmark(camera_id="hs-2", building_id=None, start_ns=5, end_ns=None, headline=" fight ",
                      description=None, camera_buildings=CAMS, known_buildings=BUILDINGS)
    assert (b.camera_id, b.building_id, b.start_wall_ns, b.end_wall_ns, b.headline) == ("hs-2", "hs", 5, 5, "fight")
    with pytest.raises(BadRequestError, match="either a camera or a building"):
        make_bookmark(camera_id="hs-2", building_id="hs", start_ns=5, end_ns=None, headline="x", description=None,
                      camera_buildings=CAMS, known_buildings=BUILDINGS)
    with pytest.raises(BadRequestError, match="not be before"):
        make_bookmark(camera_id=None, building_id="hs", start_ns=5, end_ns=4, headline="x", description=None,
                      camera_buildings=CAMS, known_buildings=BUILDINGS)
    with pytest.raises(BadRequestError, match="headline"):
        make_bookmark(camera_id=None, building_id="hs", start_ns=5, end_ns=6, headline="", description=None,
                      camera_buildings=CAMS, known_buildings=BUILDINGS)
