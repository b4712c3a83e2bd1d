"""core/placements.py: what a plan upload's query and a pin's body mean."""

from __future__ import annotations

from typing import Any

import pytest

from vigil.core.errors import BadRequestError
from vigil.core.placements import PinKind, make_placement, make_plan_request

BUILDINGS = {"hs": "High School"}


def test_plan_requests() -> None:
    campus = make_plan_request(None, "3", None, None, BUILDINGS)
    assert (campus.building_id, campus.floor, campus.name) == (None, "campus", "Campus")
    floor = make_plan_request("hs", " 2 ", None, "2", BUILDINGS)
    assert (floor.building_id, floor.floor, floor.level, floor.name) == ("hs", "2", 2, "High School, floor 2")
    for building, level, message in (("nope", None, "no building 'nope'"), ("hs", "up", "whole number"),
                                     ("hs", "999", "between -20 and 200")):
        with pytest.raises(BadRequestError, match=message):
            make_plan_request(building, "1", None, level, BUILDINGS)
    with pytest.raises(BadRequestError, match="campus plan's"):
        make_plan_request("hs", "campus", None, None, BUILDINGS)


def pin(**change: Any) -> dict[str, Any]:
    return {"plan": 1, "kind": "camera", "item": "hs-cam", "x": 10, "y": 20} | change


def test_a_camera_pin_gets_a_field_of_view() -> None:
    req = make_placement(pin(rotation_deg=-90), 1000, 500)
    assert (req.kind, req.x_px, req.y_px, req.rotation_deg) == (PinKind.CAMERA, 10.0, 20.0, 270.0)
    assert (req.fov_deg, req.range_px) == (90.0, 150.0)  # defaults: 90 degrees, 15 % of the longer side
    door = make_placement(pin(kind="door", item="hs-front", fov_deg=30), 1000, 500)
    assert (door.fov_deg, door.range_px) == (None, None)


@pytest.mark.parametrize(("change", "message"), [
    ({"plan": "1"}, "plan must be a plan id"),
    ({"plan": 2**64}, "plan must be a plan id"),  # more than SQLite holds (the fuzz run found a 500)
    ({"plan": 0}, "plan must be a plan id"),
    ({"kind": "window"}, "kind must be"),
    ({"item": ""}, "item must be"),
    ({"x": 1001}, "must lie on the plan"),
    ({"y": -1}, "must lie on the plan"),
    ({"x": True}, "x must be a number"),
    ({"x": float("nan")}, "x must be a number"),
    ({"fov_deg": 0}, "fov_deg must be between 1 and 360"),
    ({"range_px": 5000}, "range_px must be between 1 and 2000"),
])
def test_bad_pins_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        make_placement(pin(**change), 1000, 500)
