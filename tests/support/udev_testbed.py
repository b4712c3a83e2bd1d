"""umockdev testbeds for tests: run as a script under `umockdev-wrapper` (its LD_PRELOAD makes
pyudev, and programs started from here, see the testbed's /sys and /dev instead of the host's).

    umockdev-wrapper python tests/support/udev_testbed.py provision-usb IMAGE -- <vigil provision args>
    umockdev-wrapper python tests/support/udev_testbed.py hotplug CONFIG OUT.json
    umockdev-wrapper python tests/support/udev_testbed.py missing-at-start CONFIG OUT.json

There is no udevd on CI machines: the devices carry the properties udev's rules would have set."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def testbed() -> Any:
    import gi

    gi.require_version("UMockdev", "1.0")
    from gi.repository import UMockdev

    bed = UMockdev.Testbed.new()
    # Testbed.new() sets UMOCKDEV_DIR in the C environment only; children need it too.
    os.environ["UMOCKDEV_DIR"] = bed.get_root_dir()
    return bed


def add_block_device(bed: Any, name: str, properties: dict[str, str], content: bytes = b"") -> str:
    """A USB disk partition /dev/<name> whose node holds `content`; returns its sysfs path."""
    lines = [f"P: /devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/host6/block/{name[:-1]}/{name}",
             f"N: {name}", "E: SUBSYSTEM=block", f"E: DEVNAME=/dev/{name}", "E: DEVTYPE=partition",
             *[f"E: {k}={v}" for k, v in properties.items()]]
    bed.add_from_string("\n".join(lines) + "\n")  # also sends its "add" uevent
    Path(bed.get_root_dir(), "dev", name).write_bytes(content)
    return "/sys" + lines[0][3:]


def add_v4l2_camera(bed: Any, name: str, product: str) -> str:
    lines = [f"P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/video4linux/{name}", f"N: {name}",
             "E: SUBSYSTEM=video4linux", f"E: DEVNAME=/dev/{name}", "E: ID_BUS=usb",
             "E: ID_V4L_CAPABILITIES=:capture:", f"E: ID_V4L_PRODUCT={product}", "E: ID_V4L_VERSION=2"]
    bed.add_from_string("\n".join(lines) + "\n")
    return "/sys" + lines[0][3:]


def _provision_usb(image: Path, args: list[str]) -> int:
    bed = testbed()
    add_block_device(bed, "sdz1", {"ID_FS_LABEL": "VIGIL-PROV", "ID_FS_TYPE": "vfat"}, image.read_bytes())
    from vigil.cli.main import main

    return main(["provision", *args])


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def _until(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic()


def _hotplug_scenario(bed: Any, daemon: Any, out: dict[str, Any]) -> None:
    """Thread body: unplug, re-plug, a foreign disk, a USB camera; what the daemon did each time."""
    from vigil.core.hotplug import StorageState

    disk_props = {"ID_FS_LABEL": "VIGIL-DATA", "ID_FS_TYPE": "ext4", "ID_BUS": "usb"}
    rec: Path = daemon.config.storage.recordings_path
    away = rec.with_name("recordings-unplugged")
    _until(lambda: daemon.running is not None
           and all(r.segments_written >= 1 for r in daemon.running.cameras.recorders), 60, "a recorded segment")
    appliance, recorder, index = daemon.running.appliance, daemon.running.cameras.recorders[0], daemon.running.index
    disk = add_block_device(bed, "sdy1", disk_props)
    # Unplugged: systemd would unmount it; here the directory goes away, and udev says so.
    _until(lambda: recorder.open_segment_id is not None, 30, "an open segment")
    cut_short = recorder.open_segment_id
    rec.rename(away)
    bed.uevent(disk, "remove")
    bed.remove_device(disk)
    _until(lambda: appliance.storage_state() is StorageState.MISSING, 30, "MISSING")
    time.sleep(1.0)  # the segment open at the time is closed
    before = _files(away)
    time.sleep(4.0)
    out["unplugged_files_grew"] = _files(away) != before
    out["recording_while_missing"] = recorder.recording
    # Plugged back: the same disk (same meta uuid).
    away.rename(rec)
    disk = add_block_device(bed, "sdx1", disk_props)  # the kernel's name may differ; the meta uuid does not
    _until(lambda: appliance.storage_state() is StorageState.OK, 30, "OK again")
    written = recorder.segments_written
    _until(lambda: recorder.segments_written > written, 60, "segments after the disk came back")
    out["segments_after_return"] = recorder.segments_written - written
    # The segment open when the disk went was completed from its fragments once it was back.
    out["cut_short_state"] = next(s.state for s in index.segments(state=None) if s.id == cut_short)
    # A foreign disk: another index's recordings directory.
    rec.rename(away)
    rec.mkdir()
    (rec / "vigil-meta.json").write_text('{"format": 1, "db_uuid": "other-db", "dir_uuid": "other-dir"}')
    bed.uevent(disk, "change")
    _until(lambda: appliance.storage_state() is StorageState.FOREIGN, 30, "FOREIGN")
    time.sleep(3.0)
    out["foreign_files"] = sorted(_files(rec))
    (rec / "vigil-meta.json").unlink()
    rec.rmdir()
    away.rename(rec)
    bed.uevent(disk, "change")
    _until(lambda: appliance.storage_state() is StorageState.OK, 30, "OK after the foreign disk")
    # A USB camera.
    camera = add_v4l2_camera(bed, "video7", "USB_Camera_C920")
    bed.uevent(camera, "add")
    _until(lambda: bool(appliance.available_cameras()), 30, "the USB camera listed")
    out["available_cameras"] = [vars(c) for c in appliance.available_cameras()]
    out["api_cameras"] = _get_json(daemon.url + "api/devices/cameras", out["installer_token"])
    bed.uevent(camera, "remove")
    bed.remove_device(camera)
    _until(lambda: not appliance.available_cameras(), 30, "the USB camera gone")


def _missing_at_start_scenario(bed: Any, daemon: Any, out: dict[str, Any]) -> None:
    """Thread body: the daemon started while its known recording disk was away (_prepare_missing);
    what it says meanwhile, and what happens when the disk comes."""
    from vigil.core.hotplug import StorageState

    rec: Path = daemon.config.storage.recordings_path
    _until(lambda: daemon.running is not None, 60, "the daemon started")
    appliance = daemon.running.appliance
    out["state_at_start"] = appliance.storage_state().value
    out["health_while_missing"] = _get_json(daemon.url + "api/health", out["installer_token"])
    time.sleep(3.0)
    out["recorders_while_missing"] = [r.recording for r in daemon.running.cameras.recorders]
    out["created_while_missing"] = rec.exists()
    rec.with_name("recordings-away").rename(rec)
    add_block_device(bed, "sdx1", {"ID_FS_LABEL": "VIGIL-DATA", "ID_FS_TYPE": "ext4", "ID_BUS": "usb"})
    _until(lambda: appliance.storage_state() is StorageState.OK, 30, "the disk taken into use")
    recorder = daemon.running.cameras.recorders[0]
    _until(lambda: recorder.segments_written >= 1, 60, "a segment recorded onto the arrived disk")
    out["junk_left"] = (rec / "junk.bin").exists()
    out["health_after"] = _get_json(daemon.url + "api/health", out["installer_token"])


def _prepare_missing(config: Any) -> None:
    """An index that knows its recordings directory, whose disk is then away (renamed), holding a
    file the index does not know: start-up recovery, once the disk is back, removes it."""
    from vigil.app import _open_storage

    index, storage, present = _open_storage(config)
    index.close()
    assert present
    (storage.path / "junk.bin").write_bytes(b"not a segment")
    storage.path.rename(storage.path.with_name("recordings-away"))


def _get_json(url: str, token: str) -> Any:
    import ssl
    import urllib.request

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the daemon's fresh self-signed certificate
    assert url.startswith("https://127.0.0.1:")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
        return json.load(response)


def _installer_token(config: Any) -> str:
    from vigil.core.permissions import Role
    from vigil.passwords import hash_password
    from vigil.store.accounts import Accounts
    from vigil.store.index import Index

    index = Index.open(config.storage.index_path, time.time_ns())
    try:
        accounts = Accounts(index)
        user_id = accounts.add_user("installer", Role.INSTALLER, (), hash_password("installer-pw-123"), time.time_ns())
        token, _ = accounts.create_credential(user_id, "api_token", "hotplug test", time.time_ns(), None)
    finally:
        index.close()
    return token


def _hotplug(config_path: Path, out_path: Path, name: str) -> int:
    """The real daemon, in this process (the testbed is per-process), recording into the config's
    directory while a scenario thread plays udev events."""
    import asyncio

    from vigil.app import Daemon
    from vigil.config import load_config
    from vigil.logs import setup_logging

    bed = testbed()
    config = load_config(config_path)
    setup_logging("info", config.secrets)
    daemon = Daemon(config)
    out: dict[str, Any] = {"installer_token": _installer_token(config)}
    play = _hotplug_scenario
    if name == "missing-at-start":
        _prepare_missing(config)
        play = _missing_at_start_scenario

    def scenario() -> None:
        try:
            play(bed, daemon, out)
        except BaseException as error:  # reported to the test through the output file
            out["error"] = repr(error)
        finally:
            loop.call_soon_threadsafe(daemon.stopping.set)

    async def main() -> None:
        threading.Thread(target=scenario, daemon=True).start()
        await daemon.run()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    out_path.write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "provision-usb":
        sys.exit(_provision_usb(Path(sys.argv[2]), sys.argv[4:]))
    if sys.argv[1] in ("hotplug", "missing-at-start"):
        sys.exit(_hotplug(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[1]))
    raise SystemExit(f"unknown scenario {sys.argv[1]!r}")
