"""umockdev testbeds for tests: run as a script under `umockdev-wrapper` (its LD_PRELOAD makes
pyudev, and programs started from here, see the testbed's /sys and /dev instead of the host's).

    umockdev-wrapper python tests/udev_testbed.py provision-usb IMAGE -- <vigil provision args>

There is no udevd on CI machines: the devices carry the properties udev's rules would have set."""

from __future__ import annotations

import os
import sys
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
    sys_path = str(bed.add_from_string("\n".join(lines) + "\n"))
    Path(bed.get_root_dir(), "dev", name).write_bytes(content)
    return sys_path


def add_v4l2_camera(bed: Any, name: str, product: str) -> str:
    lines = [f"P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/video4linux/{name}", f"N: {name}",
             "E: SUBSYSTEM=video4linux", f"E: DEVNAME=/dev/{name}", "E: ID_BUS=usb",
             "E: ID_V4L_CAPABILITIES=:capture:", f"E: ID_V4L_PRODUCT={product}", "E: ID_V4L_VERSION=2"]
    return str(bed.add_from_string("\n".join(lines) + "\n"))


def _provision_usb(image: Path, args: list[str]) -> int:
    bed = testbed()
    add_block_device(bed, "sdz1", {"ID_FS_LABEL": "VIGIL-PROV", "ID_FS_TYPE": "vfat"}, image.read_bytes())
    from vigil.cli import main

    return main(["provision", *args])


if __name__ == "__main__":
    if sys.argv[1] == "provision-usb":
        sys.exit(_provision_usb(Path(sys.argv[2]), sys.argv[4:]))
    raise SystemExit(f"unknown scenario {sys.argv[1]!r}")
