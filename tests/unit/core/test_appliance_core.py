"""Pure appliance decisions: the watchdog verdict, what udev events and meta files mean."""

from __future__ import annotations

import logging

from vigil.core.hotplug import (
    DeviceRole,
    StorageState,
    available_camera,
    device_role,
    storage_change,
    storage_state,
)
from vigil.core.watchdog import StatusCounts, WatchdogTiming, status_line, watchdog_verdict


def test_timing_is_half_the_watchdog_period_with_a_floor_for_stalls() -> None:
    assert WatchdogTiming.from_usec(60_000_000) == WatchdogTiming(30.0, 30.0)
    assert WatchdogTiming.from_usec(1_000_000) == WatchdogTiming(0.5, 2.0)


def test_verdict_healthy_only_when_the_loop_and_every_recorder_beat() -> None:
    beats = {"a/main": 99.0, "b/main": 98.5}
    assert watchdog_verdict(100.0, 99.5, beats, 5.0).healthy
    assert watchdog_verdict(100.0, 95.0, beats, 5.0).healthy  # exactly at the limit is still alive
    stale_loop = watchdog_verdict(100.0, 94.0, beats, 5.0)
    assert not stale_loop.healthy and stale_loop.stalled == ("event loop (6 s)",)
    wedged = watchdog_verdict(100.0, 99.9, {"a/main": 99.0, "b/main": 88.0}, 5.0)
    assert not wedged.healthy and wedged.stalled == ("recorder b/main (12 s)",)
    assert wedged.reason == "no progress from recorder b/main (12 s)"
    assert watchdog_verdict(100.0, 99.9, {}, 5.0).healthy  # no cameras: the loop alone


def test_status_line_says_loudly_when_not_recording() -> None:
    ok = status_line(StatusCounts(4, 3, 3, StorageState.OK, "/srv/vigil"))
    assert ok == "cameras: 3/4 up, 3 recording; storage ok (/srv/vigil)"
    missing = status_line(StatusCounts(4, 4, 0, StorageState.MISSING, "/srv/vigil"))
    assert "RECORDING DISK MISSING (/srv/vigil): not recording" in missing
    assert "FOREIGN DISK" in status_line(StatusCounts(1, 1, 0, StorageState.FOREIGN, "/srv/vigil"))


def test_device_roles_follow_the_udev_rule_or_its_tag() -> None:
    assert device_role("block", {"ID_FS_LABEL": "VIGIL-DATA"}) is DeviceRole.RECORDING_DISK
    assert device_role("block", {"ID_FS_LABEL": "VIGIL-DATA2"}) is DeviceRole.RECORDING_DISK
    assert device_role("block", {"ID_PART_ENTRY_NAME": "vigil-data"}) is DeviceRole.RECORDING_DISK
    assert device_role("block", {"ID_FS_LABEL": "vigil-data"}) is DeviceRole.OTHER  # labels are case-sensitive
    assert device_role("block", {"ID_FS_LABEL": "VIGIL-PROV"}) is DeviceRole.PROVISIONING
    assert device_role("block", {"ID_FS_LABEL": "BACKUP", "VIGIL_ROLE": "recording-disk"}) is DeviceRole.RECORDING_DISK
    assert device_role("block", {"VIGIL_ROLE": "nonsense"}) is DeviceRole.OTHER
    assert device_role("video4linux", {"ID_V4L_CAPABILITIES": ":capture:"}) is DeviceRole.CAMERA
    assert device_role("video4linux", {"ID_V4L_CAPABILITIES": ":video_output:"}) is DeviceRole.OTHER


def test_storage_state_is_decided_by_the_meta_file_not_the_label() -> None:
    meta = {"db_uuid": "db", "dir_uuid": "dir"}
    assert storage_state(meta, True, "db", "dir") is StorageState.OK
    assert storage_state(None, True, "db", "dir") is StorageState.MISSING
    assert storage_state(meta, False, "db", "dir") is StorageState.MISSING  # require_mount and not mounted
    assert storage_state({"db_uuid": "db", "dir_uuid": "other"}, True, "db", "dir") is StorageState.FOREIGN
    assert storage_state({"db_uuid": "other", "dir_uuid": "dir"}, True, "db", "dir") is StorageState.FOREIGN


def test_storage_changes_stop_and_resume_recording_with_one_message_each() -> None:
    assert storage_change(StorageState.OK, StorageState.OK, "/srv/vigil") is None
    gone = storage_change(StorageState.OK, StorageState.MISSING, "/srv/vigil")
    assert gone is not None and not gone.record and gone.log_level == logging.WARNING
    assert storage_change(StorageState.MISSING, StorageState.MISSING, "/srv/vigil") is None  # warned once
    foreign = storage_change(StorageState.MISSING, StorageState.FOREIGN, "/srv/vigil")
    assert foreign is not None and not foreign.record and foreign.log_level == logging.ERROR
    back = storage_change(StorageState.FOREIGN, StorageState.OK, "/srv/vigil")
    assert back is not None and back.record and back.log_level == logging.INFO


def test_available_camera_from_v4l2_properties() -> None:
    props = {"ID_V4L_CAPABILITIES": ":capture:", "ID_V4L_PRODUCT": "HD_Webcam", "ID_BUS": "usb"}
    camera = available_camera("/sys/x/video0", "/dev/video0", props)
    assert camera is not None and (camera.name, camera.bus, camera.device_node) == ("HD Webcam", "usb", "/dev/video0")
    assert "encoding" in camera.note
    assert available_camera("/sys/x/video1", "/dev/video1", {"ID_V4L_CAPABILITIES": ":video_output:"}) is None
    assert available_camera("/sys/x/video2", None, props) is None
