"""core/hub_events: the headline and building of each site message kind, and what a search matches."""

from __future__ import annotations

from typing import Any

import pytest

from vigil.core.district import SiteMessage, SiteTopic
from vigil.core.errors import BadRequestError
from vigil.core.hub_events import (
    MAX_HEADLINE_CHARS,
    StoredEvent,
    building_of,
    event_json,
    event_visible,
    headline,
    like_pattern,
    matches,
    parse_kind,
    scope_pairs,
    search_words,
    site_names,
)

INVENTORY = {"buildings": [{"id": "b1", "name": "Lincoln HS"}], "doors": [{"id": "d1", "name": "East Entrance"}],
             "cameras": [{"id": "c1", "name": "Gym North"}]}
NAMES = site_names("Lincoln campus", INVENTORY)


def msg(topic: SiteTopic, **data: Any) -> SiteMessage:
    return SiteMessage(topic, "lincoln", "boot", 1, 1_764_756_000_000_000_000, data)


@pytest.mark.parametrize(("kind", "data", "line"), [
    (SiteTopic.DOOR_EVENT, {"door": "d1", "building": "b1", "kind": "access_denied"},
     "Denied badge at East Entrance (Lincoln HS)"),
    (SiteTopic.DOOR_EVENT, {"door": "d9", "building": "b9", "kind": "door_forced_open"}, "Door forced open at d9 (b9)"),
    (SiteTopic.DOOR_EVENT, {"kind": "something_new"}, "Something new (Lincoln campus)"),
    (SiteTopic.INCIDENT, {"building": "b1", "what": "declared", "reason": "smoke", "drill": False},
     "Incident declared in Lincoln HS: smoke"),
    (SiteTopic.INCIDENT, {"building": "b1", "what": "ended", "drill": True}, "Drill ended in Lincoln HS"),
    (SiteTopic.CAMERA, {"camera": "c1", "building": "b1", "state": "down", "reason": "no RTSP"},
     "Camera Gym North down (Lincoln HS): no RTSP"),
    (SiteTopic.CAMERA, {"camera": "c1", "building": "b1", "state": "up", "reason": "x"},
     "Camera Gym North up (Lincoln HS)"),
    (SiteTopic.STORAGE, {"problem": "disk_low", "detail": "2 GB left"},
     "Storage disk low at Lincoln campus: 2 GB left"),
    (SiteTopic.STORAGE, {"problem": None, "detail": ""}, "Storage fine again at Lincoln campus"),
])
def test_headline_of_each_kind(kind: SiteTopic, data: dict[str, Any], line: str) -> None:
    assert headline(SiteMessage(kind, "lincoln", "boot", 1, 0, data), NAMES) == line


def test_a_sites_text_becomes_one_bounded_line() -> None:
    evil = msg(SiteTopic.INCIDENT, building="b1", what="declared", reason="a\nb\x1b[31m" + "x" * 1000)
    line = headline(evil, NAMES)
    assert "\n" not in line and "\x1b" not in line and len(line) <= MAX_HEADLINE_CHARS
    assert line.startswith("Incident declared in Lincoln HS: a b [31mx")
    # names from an inventory that is not what it should be fall back to ids
    odd = site_names("S", {"buildings": "nope", "doors": [{"id": {"x": 1}}, {"id": "d1", "name": ["x"]}]})
    assert odd.door("d1") == "d1" and odd.building("b1") == "b1" and odd.building(None) == "S"


def test_building_of() -> None:
    assert building_of(msg(SiteTopic.DOOR_EVENT, building="b1")) == "b1"
    assert building_of(msg(SiteTopic.STORAGE, problem=None)) is None
    assert building_of(msg(SiteTopic.DOOR_EVENT, building={"id": "b1"})) is None


def test_event_json_is_the_contracts_event() -> None:
    event = StoredEvent(7, "lincoln", "door_event", 1_764_756_000_000_000_000, 1_764_756_000_500_000_000, "b1",
                        "Denied badge", {"door": "d1"})
    assert event_json(event) == {"id": 7, "site": "lincoln", "kind": "door_event", "at": "2025-12-03T10:00:00.000Z",
                                 "received_at": "2025-12-03T10:00:00.500Z", "building": "b1",
                                 "headline": "Denied badge", "data": {"door": "d1"}}


def test_search_words_and_matching() -> None:
    words = search_words("  Denied EAST denied ")
    assert words == ("denied", "east")
    assert matches(words, "Denied badge at East Entrance (Lincoln HS)")
    assert not matches(words, "Denied badge at West Entrance")
    for bad in ("", "   ", None, "x" * 201, " ".join(f"w{i}" for i in range(9))):
        with pytest.raises(BadRequestError):
            search_words(bad)
    assert like_pattern("50%_a\\") == "%50\\%\\_a\\\\%"


def test_parse_kind() -> None:
    assert parse_kind(None) is None and parse_kind("") is None
    assert parse_kind("door_event") is SiteTopic.DOOR_EVENT
    for bad in ("health", "bridge", "nope"):
        with pytest.raises(BadRequestError):
            parse_kind(bad)


def test_which_events_a_user_sees() -> None:
    pairs = scope_pairs(("lincoln/hs", "lincoln/ms", "adams/x", "bad", "nosite/"))
    assert pairs == {("lincoln", "hs"), ("lincoln", "ms"), ("adams", "x")}
    assert event_visible(pairs, "lincoln", "hs") and event_visible(pairs, "lincoln", None)
    assert not event_visible(pairs, "lincoln", "es") and not event_visible(pairs, "grant", None)
    assert event_visible(None, "grant", "anything")
