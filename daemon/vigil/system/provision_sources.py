"""Where the provisioning input comes from, in order: systemd credentials, a file on the boot
partition, a USB stick. The first source present wins; none present is an error that says where
it looked.

The USB stick is a FAT filesystem labelled VIGIL-PROV holding `vigil-provision.toml`. It is found
through udev (pyudev) and read with mtools straight from the block device: never mounted, so no
automounter, no mount namespace games, and nothing on the stick is ever executed."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vigil.core.errors import ConfigError

CREDENTIAL_NAME = "vigil.provision"
SYSTEM_CREDENTIALS_DIR = Path("/run/credentials/@system")
INPUT_NAME = "vigil-provision.toml"
BOOT_PATHS = (Path("/efi") / INPUT_NAME, Path("/boot/efi") / INPUT_NAME, Path("/boot") / INPUT_NAME)
USB_LABEL = "VIGIL-PROV"
MAX_INPUT_BYTES = 256 * 1024
MTYPE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ProvisionSource:
    kind: str  # credential, boot, usb
    where: str  # a path or a device node, for messages
    text: str


def read_input_file(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read provisioning input: {error.strerror}") from None
    return _decode(data, str(path))


def _decode(data: bytes, where: str) -> str:
    if len(data) > MAX_INPUT_BYTES:
        raise ConfigError(f"{where}: provisioning input larger than {MAX_INPUT_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: provisioning input is not UTF-8 text") from None


def credential_dirs(environ: dict[str, str] | None = None) -> list[Path]:
    env = os.environ if environ is None else environ
    dirs = [Path(env["CREDENTIALS_DIRECTORY"])] if env.get("CREDENTIALS_DIRECTORY") else []
    return [*dirs, SYSTEM_CREDENTIALS_DIR]


def usb_device_nodes(label: str = USB_LABEL) -> list[str]:
    """Block devices udev knows with this filesystem label (or tagged by hw/60-vigil.rules)."""
    import pyudev

    context = pyudev.Context()
    nodes = []
    for device in context.list_devices(subsystem="block"):
        props = device.properties
        ours = props.get("ID_FS_LABEL") == label or props.get("VIGIL_ROLE") == "provisioning"
        if ours and device.device_node:
            nodes.append(str(device.device_node))
    return sorted(nodes)


def read_fat_file(device_node: str, name: str = INPUT_NAME) -> str:
    """One file from the root of a FAT filesystem on `device_node`, read by mtools (no mount)."""
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1", MTOOLS_NO_VFAT="1")
    try:
        done = subprocess.run(["mtype", "-i", device_node, f"::/{name}"], capture_output=True, env=env,
                              timeout=MTYPE_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise ConfigError("mtools (mtype) is not installed; cannot read the provisioning stick") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{device_node}: reading the provisioning stick timed out") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        why = reason[-1] if reason else "mtype failed"
        raise ConfigError(f"{device_node}: no readable {name} on the stick ({why})")
    return _decode(done.stdout, f"{device_node}:{name}")


def find_source(
    credentials: Sequence[Path],
    boot_paths: Sequence[Path] = BOOT_PATHS,
    usb_nodes: Callable[[], list[str]] = usb_device_nodes,
    read_usb: Callable[[str], str] = read_fat_file,
    usb_wait_s: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ProvisionSource:
    """The first source present. With nothing else there, a USB stick still being probed at boot
    is waited for up to `usb_wait_s`."""
    for directory in credentials:
        path = directory / CREDENTIAL_NAME
        if path.is_file():
            return ProvisionSource("credential", str(path), read_input_file(path))
    for path in boot_paths:
        if path.is_file():
            return ProvisionSource("boot", str(path), read_input_file(path))
    nodes = usb_nodes()
    waited_s = 0.0
    while not nodes and waited_s < usb_wait_s:
        sleep(1.0)
        waited_s += 1.0
        nodes = usb_nodes()
    if len(nodes) > 1:
        raise ConfigError(f"more than one {USB_LABEL} stick attached ({', '.join(nodes)}); attach only one")
    if nodes:
        return ProvisionSource("usb", nodes[0], read_usb(nodes[0]))
    looked = [str(d / CREDENTIAL_NAME) for d in credentials] + [str(p) for p in boot_paths]
    raise ConfigError("no provisioning input found; looked for " + ", ".join(looked)
                      + f" and a USB stick labelled {USB_LABEL} holding {INPUT_NAME}")
