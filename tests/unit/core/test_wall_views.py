"""core/wall_views.py: what a saved live-wall view may say, and what its viewer gets back."""

from __future__ import annotations

import pytest

from vigil.core.errors import BadRequestError, NotFoundError
from vigil.core.wall_views import make_view, shown_tiles

KNOWN = {"a", "b", "c"}


def test_a_view_keeps_its_tiles_in_order_without_trailing_empty_ones() -> None:
    view = make_view(name="  Front doors ", layout=4, cameras=[None, "b", None, None], known_cameras=KNOWN)
    assert (view.name, view.layout, view.cameras, view.named_cameras) == ("Front doors", 4, (None, "b"), ("b",))
    assert make_view(name="x", layout=1, cameras=[], known_cameras=KNOWN).cameras == ()


@pytest.mark.parametrize(("fields", "error", "needle"), [
    ({"name": "", "layout": 4, "cameras": []}, BadRequestError, "name is required"),
    ({"name": "   ", "layout": 4, "cameras": []}, BadRequestError, "name is required"),
    ({"name": "x" * 101, "layout": 4, "cameras": []}, BadRequestError, "1-100"),
    ({"name": 5, "layout": 4, "cameras": []}, BadRequestError, "name"),
    ({"name": "x", "layout": 3, "cameras": []}, BadRequestError, "1, 4, 9 or 16"),
    ({"name": "x", "layout": True, "cameras": []}, BadRequestError, "1, 4, 9 or 16"),
    ({"name": "x", "layout": "4", "cameras": []}, BadRequestError, "1, 4, 9 or 16"),
    ({"name": "x", "layout": 4, "cameras": "a"}, BadRequestError, "list of camera ids"),
    ({"name": "x", "layout": 4, "cameras": [1]}, BadRequestError, "list of camera ids"),
    ({"name": "x", "layout": 1, "cameras": ["a", "b"]}, BadRequestError, "at most 1 cameras"),
    ({"name": "x", "layout": 4, "cameras": ["a", None, "a"]}, BadRequestError, "only once"),
    ({"name": "x", "layout": 4, "cameras": ["nope"]}, NotFoundError, "no camera 'nope'"),
    ({"name": "x", "layout": 4, "cameras": ["n" * 5000]}, NotFoundError, "no camera"),
])
def test_bad_views_are_refused_saying_why(fields: dict[str, object], error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match=needle):
        make_view(name=fields["name"], layout=fields["layout"], cameras=fields["cameras"], known_cameras=KNOWN)


def test_cameras_the_viewer_may_not_see_come_back_as_empty_tiles() -> None:
    assert shown_tiles(("a", "b", None, "c"), lambda c: c != "b") == ("a", None, None, "c")
    assert shown_tiles(("a", "b"), lambda c: c == "a") == ("a",)
    assert shown_tiles(("a", "b"), lambda c: False) == ()
