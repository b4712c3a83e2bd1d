"""What a udev event means for the appliance: the recording disk's state, and the cameras an
installer could add. Pure: the shell (vigil.system.hotplug) reads udev and the disk's meta file
and acts on the answers.

The recording disk is verified by its meta file (record/storage.py), never trusted by label: a
disk labelled VIGIL-DATA that carries another index's uuids is FOREIGN and refused."""

from __future__ import annotations

import enum
import errno
import fnmatch
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

DISK_LABEL_GLOB = "VIGIL-DATA*"
DISK_PARTITION_NAME = "vigil-data"
PROVISIONING_LABEL = "VIGIL-PROV"


class DeviceRole(enum.Enum):
    RECORDING_DISK = "recording-disk"
    CAMERA = "camera"
    PROVISIONING = "provisioning"
    OTHER = "other"


def device_role(subsystem: str, properties: Mapping[str, str]) -> DeviceRole:
    """The role hw/60-vigil.rules gives a device (VIGIL_ROLE), or the same rule applied here when
    the property is absent (rules not installed, or a device udev has not processed)."""
    tagged = properties.get("VIGIL_ROLE")
    if tagged:
        try:
            return DeviceRole(tagged)
        except ValueError:
            return DeviceRole.OTHER
    if subsystem == "block":
        label = properties.get("ID_FS_LABEL", "")
        if fnmatch.fnmatchcase(label, DISK_LABEL_GLOB) or properties.get("ID_PART_ENTRY_NAME") == DISK_PARTITION_NAME:
            return DeviceRole.RECORDING_DISK
        if label == PROVISIONING_LABEL:
            return DeviceRole.PROVISIONING
    if subsystem == "video4linux" and ":capture:" in properties.get("ID_V4L_CAPABILITIES", ""):
        return DeviceRole.CAMERA
    return DeviceRole.OTHER


class StorageState(enum.Enum):
    OK = "ok"
    MISSING = "missing"  # the recording disk is gone (or not mounted yet): nothing is recorded
    FOREIGN = "foreign"  # a disk of another index is there: refused


# What reading the meta file may fail with when the disk itself is gone (unplugged, its filesystem
# shut down, the mount lost under us). Any other error (EMFILE/ENFILE: out of descriptors, ENOMEM,
# EACCES, EINTR...) says nothing about the disk: the check is inconclusive.
_DISK_GONE_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ENODEV, errno.ENXIO, errno.EIO, errno.ESTALE,
                               errno.ENOMEDIUM, errno.ENOTCONN, errno.EUCLEAN})


def read_error_means_missing(error_number: int | None) -> bool:
    """Whether an OSError reading the meta file means the disk is gone. False means the check
    could not be made: the state stays what it was (never "RECORDING DISK MISSING" because the
    process ran out of file descriptors), and the shell says it could not check."""
    return error_number in _DISK_GONE_ERRNOS


def storage_state(meta: Mapping[str, str] | None, mounted: bool, db_uuid: str, dir_uuid: str) -> StorageState:
    """The state of the recordings directory from its meta file (None: absent or unreadable)."""
    if not mounted or meta is None:
        return StorageState.MISSING
    if meta.get("db_uuid") != db_uuid or meta.get("dir_uuid") != dir_uuid:
        return StorageState.FOREIGN
    return StorageState.OK


@dataclass(frozen=True)
class StorageChange:
    record: bool  # whether recorders may write to the recordings directory
    log_level: int
    message: str


def storage_change(old: StorageState, new: StorageState, path: str) -> StorageChange | None:
    """What to do when the state changes (None: it did not). Losing the disk warns once per loss."""
    if old is new:
        return None
    if new is StorageState.OK:
        return StorageChange(True, logging.INFO, f"recording disk {path} is back (same meta uuid): recording resumes")
    if new is StorageState.MISSING:
        return StorageChange(False, logging.WARNING,
                             f"RECORDING DISK MISSING: {path} is gone or not mounted;"
                             " recording stopped until it is back")
    return StorageChange(False, logging.ERROR,
                         f"FOREIGN DISK refused: {path} holds another vigil index's recordings (meta uuid differs);"
                         " not recording onto it; attach this appliance's recording disk")


@dataclass(frozen=True)
class AvailableCamera:
    """A local (USB/V4L2) capture device the installer could add."""

    sys_path: str
    device_node: str
    name: str
    bus: str  # usb, platform, ...
    note: str = "local V4L2 device: recording it means encoding raw frames (CPU cost), unlike RTSP cameras"


def available_camera(sys_path: str, device_node: str | None, properties: Mapping[str, str]) -> AvailableCamera | None:
    if device_role("video4linux", properties) is not DeviceRole.CAMERA or not device_node:
        return None
    name = properties.get("ID_V4L_PRODUCT") or properties.get("ID_MODEL_FROM_DATABASE") or properties.get(
        "ID_MODEL", device_node)
    return AvailableCamera(sys_path, device_node, name.replace("_", " "), properties.get("ID_BUS", "unknown"))


class ApplianceSource(Protocol):
    """What the API asks the appliance layer (vigil.system.wiring.Appliance)."""

    def storage_state(self) -> StorageState: ...

    def available_cameras(self) -> list[AvailableCamera]: ...


def usb_addable(encoders: tuple[str, ...], vaapi_devices: tuple[str, ...]) -> tuple[bool, str]:
    """Whether a USB camera can be added, and why not. Recording one means encoding its raw frames to
    H.264; on the appliance's CPU that costs a core per camera, so only a hardware encoder would do,
    and Vigil has no transcoding path through one yet (issue 15 leaves it out)."""
    if encoders or vaapi_devices:
        found = ", ".join((*encoders, *(f"VA-API {d}" for d in vaapi_devices)))
        return False, (f"this appliance has a hardware encoder ({found}), but Vigil cannot record USB cameras"
                       " through it yet; use an IP (RTSP/ONVIF) camera")
    return False, ("recording a USB camera needs a hardware H.264 encoder, and this appliance has none (no V4L2"
                   " memory-to-memory encoder, no VA-API device); use an IP (RTSP/ONVIF) camera")
