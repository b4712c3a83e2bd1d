"""Hot-plug end to end: the real daemon recording a real RTSP camera inside a umockdev testbed
(pyudev sees the testbed's devices and uevents); the recording disk is unplugged, plugged back,
replaced by a foreign disk, and a USB camera appears. See tests/support/udev_testbed.py for the script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.camsim import CameraServerFactory
from tests.support.notify_socket import NotifySocket
from tests.support.vigil_proc import DAEMON_DIR, write_config

SUPPORT = Path(__file__).resolve().parents[2] / "support"
CAM = "width=320,height=240,fps=15,gop=15,bitrate=300"


def _play(scenario: str, tmp_path: Path, camera_server: CameraServerFactory) -> tuple[dict[str, Any], str, list[str]]:
    """The daemon in a umockdev testbed playing `scenario` (udev_testbed.py): its result, its log
    and the STATUS lines it sent systemd."""
    cams = camera_server(f"name=a,{CAM}")
    config = write_config(tmp_path, {"cam-a": cams.url("a")}, "segment_duration_s = 2")
    config.write_text(config.read_text() + '[http]\nlisten = "127.0.0.1:0"\n')
    notify = NotifySocket(tmp_path / "notify.sock")
    environ = dict(os.environ, NOTIFY_SOCKET=str(notify.path),
                   PYTHONPATH=os.pathsep.join([str(DAEMON_DIR), str(SUPPORT)]))
    out = tmp_path / "out.json"
    try:
        done = subprocess.run(["umockdev-wrapper", sys.executable, str(SUPPORT / "udev_testbed.py"), scenario,
                               str(config), str(out)], capture_output=True, text=True, env=environ, timeout=400,
                              check=False)
    finally:
        notify.close()
    log = done.stderr
    assert done.returncode == 0, log
    result = json.loads(out.read_text())
    assert "error" not in result, result["error"] + "\n" + log
    return result, log, [m.fields["STATUS"] for m in notify.having("STATUS")]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("umockdev-wrapper") is None, reason="needs umockdev")
def test_disk_unplugged_replugged_foreign_and_a_usb_camera(tmp_path: Path, camera_server: CameraServerFactory) -> None:
    result, log, statuses = _play("hotplug", tmp_path, camera_server)
    # Unplugged: recording stopped writing there, loudly, once.
    assert "hot-plug: recording disk /dev/sdy1 remove" in log and "recording disk /dev/sdx1 add" in log
    first_loss = log[:log.index("is back (same meta uuid)")]
    assert first_loss.count("RECORDING DISK MISSING") == 1, log  # warned once while it was away
    assert not result["unplugged_files_grew"] and not result["recording_while_missing"], result
    assert any("RECORDING DISK MISSING" in s and "0 recording" in s for s in statuses), statuses
    # Back with the same meta uuid: resumed.
    assert log.count("is back (same meta uuid): recording resumes") == 2, log  # after unplug, after foreign
    assert result["segments_after_return"] >= 1
    assert result["cut_short_state"] == "complete"  # the segment cut by the unplug, recovered
    # Foreign: refused, nothing written onto it.
    assert "FOREIGN DISK refused" in log
    assert result["foreign_files"] == ["vigil-meta.json"], result
    assert any("FOREIGN DISK" in s for s in statuses), statuses
    # A USB camera: listed for the installer, with the transcoding caveat.
    (camera,) = result["available_cameras"]
    assert (camera["device_node"], camera["name"], camera["bus"]) == ("/dev/video7", "USB Camera C920", "usb")
    assert "encoding" in camera["note"]
    # ... and so does the API, to an installer.
    # Not addable (issue 15): recording it needs a hardware H.264 encoder, and the reason says so.
    why_not = result["api_cameras"][0].pop("why_not")
    assert "hardware H.264 encoder" in why_not or "hardware encoder" in why_not, why_not
    assert result["api_cameras"] == [{"device": "/dev/video7", "name": "USB Camera C920", "bus": "usb",
                                      "transcodes": True, "note": camera["note"], "addable": False}]
    assert "local camera USB Camera C920 at /dev/video7 available to add" in log


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("umockdev-wrapper") is None, reason="needs umockdev")
def test_disk_missing_at_start_is_waited_for(tmp_path: Path, camera_server: CameraServerFactory) -> None:
    """An appliance booting without its recording disk runs and waits for it (it used to exit, and
    systemd restarted it every 10 s), saying so in STATUS and health; when the disk comes, start-up
    recovery runs on it and recording begins."""
    result, log, statuses = _play("missing-at-start", tmp_path, camera_server)
    assert result["state_at_start"] == "missing"
    health = result["health_while_missing"]
    assert (health["status"], health["storage"]) == ("degraded", "missing"), health
    assert any("RECORDING DISK MISSING" in s and "0 recording" in s for s in statuses), statuses
    assert "waiting for it" in log, log
    assert result["recorders_while_missing"] == [False] and not result["created_while_missing"], result
    # Arrived: recovered as at start-up (the file the index does not know is gone), then recorded.
    assert "is back (same meta uuid): recording resumes" in log, log
    assert "recording disk arrived; recovery:" in log and not result["junk_left"], log
    assert result["health_after"]["storage"] == "ok", result["health_after"]
