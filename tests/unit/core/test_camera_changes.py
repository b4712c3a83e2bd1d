"""core/camera_changes.py: which cameras a reload starts, stops, restarts or only updates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vigil.config import CameraConfig
from vigil.core.camera_changes import RESTART_FIELDS, camera_changes, sections_needing_restart
from vigil.core.camera_modes import IngestPath, MotionMode, Transport


def cam(camera_id: str, **changes: object) -> CameraConfig:
    return replace(CameraConfig(camera_id, "hs", camera_id, f"rtsp://10.0.0.1/{camera_id}"), **changes)  # type: ignore[arg-type]


def test_added_removed_unchanged_in_the_new_order() -> None:
    changes = camera_changes((cam("a"), cam("b"), cam("c")), (cam("d"), cam("c"), cam("a")))
    assert (changes.added, changes.removed, changes.restarted, changes.updated, changes.unchanged) == (
        ("d",), ("b",), (), (), 2)
    assert changes.to_stop == ("b",) and changes.to_start == ("d",) and changes.touched


def test_nothing_changed_touches_nothing() -> None:
    changes = camera_changes((cam("a"), cam("b")), (cam("a"), cam("b")))
    assert not changes.touched and changes.unchanged == 2


@pytest.mark.parametrize(("field", "value"), [
    ("url", "rtsp://10.0.0.2/x"), ("substream_url", "rtsp://10.0.0.1/sub"), ("username", "u"), ("password", "p"),
    ("transport", Transport.UDP), ("timeout_s", 9.0), ("enabled", False), ("motion", MotionMode.OFF),
    ("motion_sensitivity", 0.9), ("motion_mask", ((0.0, 0.0, 0.5, 0.5),)), ("ingest", IngestPath.FFMPEG)])
def test_a_stream_setting_restarts_only_that_camera(field: str, value: object) -> None:
    changes = camera_changes((cam("a"), cam("b")), (cam("a", **{field: value}), cam("b")))
    assert changes.restarted == ("a",) and changes.unchanged == 1 and not changes.updated


def test_every_restart_field_is_a_camera_setting() -> None:
    assert set(RESTART_FIELDS) <= {f for f in CameraConfig.__dataclass_fields__}


@pytest.mark.parametrize("field", ["name", "building"])
def test_name_or_building_updates_in_place(field: str) -> None:
    changes = camera_changes((cam("a"),), (cam("a", **{field: "other"}),))
    assert changes.updated == ("a",) and not changes.restarted and not changes.to_stop


def test_a_restart_wins_over_an_update() -> None:
    changes = camera_changes((cam("a"),), (cam("a", name="x", url="rtsp://10.0.0.9/a"),))
    assert changes.restarted == ("a",) and changes.updated == ()


def test_sections_needing_restart() -> None:
    old = {"cameras": 1, "buildings": 1, "source": "a", "http": 1, "log": 1}
    new = {"cameras": 2, "buildings": 2, "source": "b", "http": 2, "log": 1, "webrtc": 1}
    assert sections_needing_restart(old, new) == ("http", "webrtc")
