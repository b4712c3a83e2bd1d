"""The door map and [door_events] settings: good shapes load; every mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.config import parse_config
from vigil.core.door_events import Direction, DoorEventKind
from vigil.core.door_map import DoorMap
from vigil.core.errors import ConfigError

BASE = """
[storage]
path = "data"
[[buildings]]
id = "hs"
[[buildings]]
id = "ms"
[[cameras]]
id = "hs-east"
building = "hs"
url = "rtsp://10.0.0.21/media"
[[cameras]]
id = "hs-lobby"
building = "hs"
url = "rtsp://10.0.0.22/media"
[[cameras]]
id = "ms-gym"
building = "ms"
url = "rtsp://10.0.0.23/media"
"""

DOOR = """
[[doors]]
id = "east-main"
name = "East Main Entrance"
building = "hs"
cameras = ["hs-east"]
access_points = [{ source = "webhook", id = "reader-7", direction = "in" }]
"""


def test_minimal_door_from_the_issue_loads_with_defaults(tmp_path: Path) -> None:
    cfg = parse_config(BASE + DOOR, tmp_path / "v.toml")
    (door,) = cfg.doors
    assert (door.id, door.name, door.building, door.cameras) == ("east-main", "East Main Entrance", "hs", ("hs-east",))
    assert (door.pre_s, door.post_s) == (30.0, 60.0)
    (point,) = door.access_points
    assert (point.source, point.id, point.direction) == ("webhook", "reader-7", Direction.IN)
    assert cfg.door_events.store_cardholder is False and cfg.door_events.webhook_secret is None
    assert DoorEventKind.ACCESS_DENIED in cfg.door_events.rules.kinds
    assert cfg.door_events.rules.repeat_denials == 3 and cfg.door_events.rules.offline_after_s == 120
    assert (cfg.door_events.occurred_max_past_s, cfg.door_events.occurred_max_future_s) == (7 * 86_400, 300)


def test_per_direction_cameras_and_lookup(tmp_path: Path) -> None:
    text = BASE + """
[[doors]]
id = "lobby"
building = "hs"
cameras = ["hs-lobby"]
cameras_in = ["hs-east"]
pre_s = 5
post_s = 10
access_points = [{ source = "onguard", id = "12:3", direction = "in" },
                 { source = "onguard", id = "12:4", direction = "out" },
                 { source = "mqtt", id = "lobby" }]
"""
    doors = DoorMap(parse_config(text, tmp_path / "v.toml").doors)
    entry, leaving = doors.lookup("onguard", "12:3"), doors.lookup("onguard", "12:4")
    both = doors.lookup("mqtt", "lobby")
    assert entry is not None and entry.cameras == ("hs-east",) and entry.direction is Direction.IN
    assert leaving is not None and leaving.cameras == ("hs-lobby",)
    assert both is not None and set(both.cameras) == {"hs-lobby", "hs-east"}
    assert entry.hold_range(100_000_000_000) == (95_000_000_000, 110_000_000_000)
    assert doors.lookup("webhook", "12:3") is None and doors.lookup("onguard", None) is None


@pytest.mark.parametrize(("extra", "key", "words"), [
    (DOOR.replace('building = "hs"', 'building = "elem"'), "doors[0].building", "not a building id"),
    (DOOR.replace('"hs-east"', '"hs-west"'), "doors[0].cameras", "not a camera id"),
    (DOOR.replace('"hs-east"', '"ms-gym"'), "doors[0].cameras", "is in building 'ms'"),
    (DOOR.replace('"in"', '"sideways"'), "doors[0].access_points[0].direction", "in, out or both"),
    (DOOR + DOOR.replace("east-main", "east-2"), "doors[1].access_points[0].id", "already mapped by doors[0]"),
    (DOOR + DOOR, "doors[1].id", "duplicate door id"),
    (DOOR.replace("cameras =", "pre_s = -1\ncameras ="), "doors[0].pre_s", "between 0 and 3600"),
    (DOOR.replace("cameras =", "colour = 1\ncameras ="), "doors[0].colour", "unknown key"),
    (DOOR.replace('id = "reader-7", ', ""), "doors[0].access_points[0].id", "missing"),
    ("[door_events]\nrules = { kinds = ['access_denied', 'loitering'] }", "door_events.rules.kinds", "loitering"),
    ("[door_events]\nrules = { repeat_denials = 1 }", "door_events.rules.repeat_denials", "at least 2"),
    ("[door_events]\nwebhook_secret = 'short'", "door_events.webhook_secret", "at least 16"),
    ("[door_events]\nwebhook_secret_file = 'nope.txt'", "door_events.webhook_secret_file", "cannot read"),
    ("[door_events]\nwebhook_secret = ''", "door_events.webhook_secret", "at least 16"),
    ("[door_events]\nwebhook_secret = 'a'\nwebhook_secret_file = 'b'", "door_events", "not both"),
    ("[door_events]\nstore_cardholder = 'yes'", "door_events.store_cardholder", "true/false"),
    ("[door_events]\noccurred_max_past_s = 1e12", "door_events.occurred_max_past_s", "366 days"),
    ("[door_events]\noccurred_max_future_s = -1", "door_events.occurred_max_future_s", "0 to 86400"),
])
def test_mistakes_are_named_by_key(tmp_path: Path, extra: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + extra, tmp_path / "v.toml")
    assert f"v.toml: {key}:" in str(caught.value) and words in str(caught.value), str(caught.value)


def test_webhook_secret_from_a_file_never_shows(tmp_path: Path) -> None:
    (tmp_path / "hook.secret").write_text("0123456789abcdef-very-secret\n")
    cfg = parse_config(BASE + "[door_events]\nwebhook_secret_file = 'hook.secret'\nstore_cardholder = true\n"
                       "rules = { kinds = ['duress'], repeat_window_s = 90 }", tmp_path / "v.toml")
    assert cfg.door_events.webhook_secret == "0123456789abcdef-very-secret"
    assert "very-secret" not in repr(cfg) and cfg.door_events.webhook_secret in cfg.secrets
    assert cfg.door_events.rules.kinds == {DoorEventKind.DURESS} and cfg.door_events.rules.repeat_window_s == 90
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + "[door_events]\nwebhook_secret = 'short-secret'", tmp_path / "v.toml")
    assert "short-secret" not in str(caught.value)
