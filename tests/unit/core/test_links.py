"""core.links: where a responder link lands."""

from __future__ import annotations

from vigil.core.links import landing_location


def test_landing_opens_the_one_building_or_the_campus() -> None:
    assert landing_location(["hs", "hs"]) == "/#/map/hs"  # a building link, or cameras all in it
    assert landing_location(["hs", "ms"]) == "/#/map"
    assert landing_location([]) == "/#/map"
