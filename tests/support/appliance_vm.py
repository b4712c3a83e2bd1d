"""The appliance image as a disk, and a qemu (TCG, UEFI) machine booting it.

The disk is the built `vigil-appliance.img.zst` flashed with `bmaptool copy` and its `.bmap` (as the
README tells installers: only the mapped blocks, each range's SHA-256 checked) into a sparse file
grown to a real disk's size, exactly what flashing the image onto a bigger disk gives; files are put on its ESP with
mtools and its data partition is read back with debugfs - no loop devices, no mounts."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
MTOOLS_ENV = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}


def verify_sha256(image: Path) -> None:
    """The image matches the checksum file shipped beside it (`sha256sum -c` format)."""
    expected = (image.parent / f"{image.name}.sha256").read_text(encoding="ascii").split()[0]
    digest = hashlib.sha256()
    with image.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    assert digest.hexdigest() == expected, f"{image}: SHA-256 does not match {image.name}.sha256"


def read_manifest(image: Path) -> dict[str, str]:
    text = (image.parent / "vigil-appliance.manifest").read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@dataclass(frozen=True)
class Disk:
    path: Path
    esp_offset_bytes: int

    @classmethod
    def flash(cls, image: Path, target: Path, size_bytes: int) -> Disk:
        """What `bmaptool copy --bmap IMAGE.bmap IMAGE /dev/sdX` leaves on a disk of `size_bytes`
        (bmaptool fails on a range whose SHA-256 differs from the block map's)."""
        bmap = image.with_name(image.name.removesuffix(".zst") + ".bmap")
        subprocess.run(["bmaptool", "-q", "copy", "--bmap", str(bmap), str(image), str(target)], check=True)
        assert target.stat().st_size <= size_bytes
        with target.open("r+b") as f:
            f.truncate(size_bytes)
        return cls(target, int(read_manifest(image)["esp_offset_bytes"]))

    def _esp(self) -> str:
        return f"{self.path}@@{self.esp_offset_bytes}"

    def put_on_esp(self, source: Path, name: str) -> None:
        subprocess.run(["mcopy", "-o", "-i", self._esp(), str(source), f"::/{name}"], check=True, env=MTOOLS_ENV)

    def esp_listing(self, directory: str) -> list[str]:
        """Long file names in an ESP directory (mtools' `mdir -b`)."""
        out = subprocess.run(["mdir", "-b", "-i", self._esp(), f"::/{directory}"], capture_output=True, text=True,
                             check=True, env=MTOOLS_ENV).stdout
        return sorted(Path(line.strip()).name for line in out.splitlines() if line.strip())

    def partitions(self) -> list[dict[str, object]]:
        out = subprocess.run(["sfdisk", "--json", str(self.path)], capture_output=True, text=True, check=True).stdout
        parts: list[dict[str, object]] = json.loads(out)["partitiontable"]["partitions"]
        return parts

    def ext4_entries(self, start_sector: int, directory: str) -> dict[str, tuple[int, int, int]]:
        """Name -> (mode, uid, gid) of each entry of a directory of the ext4 partition starting at
        `start_sector` (debugfs `ls -p`; mode as in st_mode)."""
        done = subprocess.run(["debugfs", "-R", f"ls -p {directory}", f"{self.path}?offset={start_sector * 512}"],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0 and "ls:" not in done.stderr, done.stderr
        # Each line is /inode/mode (octal)/uid/gid/name/size/.
        rows = [line.split("/") for line in done.stdout.splitlines() if line.count("/") >= 6]
        return {r[5]: (int(r[2], 8), int(r[3]), int(r[4])) for r in rows}

    def ext4_listing(self, start_sector: int, directory: str) -> list[str]:
        """Names in a directory of the ext4 partition starting at `start_sector`."""
        return sorted(self.ext4_entries(start_sector, directory))

    def copy_out_ext4(self, start_sector: int, paths: list[str], dest: Path) -> None:
        """Copy files/trees out of the ext4 partition starting at `start_sector` (debugfs rdump)."""
        fs = f"{self.path}?offset={start_sector * 512}"
        dest.mkdir(parents=True, exist_ok=True)
        for path in paths:
            done = subprocess.run(["debugfs", "-R", f"rdump {path} {dest}", fs], capture_output=True, text=True,
                                  check=False)
            assert done.returncode == 0 and "rdump:" not in done.stderr, done.stderr


class Vm:
    """qemu-system-x86_64 under TCG with OVMF (UEFI -> systemd-boot), no network, serial console to
    a file, and QMP for the ACPI power button."""

    def __init__(self, disk: Disk, workdir: Path, memory_mib: int = 2048, cpus: int = 2, *,
                 reboots: bool = False, forward_https_to: int | None = None) -> None:
        """`reboots`: a reboot restarts the machine (else qemu exits). `forward_https_to`: user-mode
        networking, the box's port 8443 reachable at that port on 127.0.0.1, and the host's
        127.0.0.1 at 10.0.2.2 from the box (no other network)."""
        self.disk = disk
        self.console_path = workdir / "console.log"
        self.qmp_path = workdir / "qmp.sock"
        vars_fd = workdir / "OVMF_VARS.fd"
        shutil.copyfile(OVMF_VARS, vars_fd)
        self.argv = [
            "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "max",
            "-m", str(memory_mib), "-smp", str(cpus), "-display", "none", *([] if reboots else ["-no-reboot"]),
            "-nic", "none" if forward_https_to is None else
            f"user,model=virtio-net-pci,restrict=off,hostfwd=tcp:127.0.0.1:{forward_https_to}-:8443",
            "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,file={vars_fd}",
            "-drive", f"file={disk.path},format=raw,if=virtio",
            "-serial", f"file:{self.console_path}", "-monitor", "none",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_s = 0.0

    def start(self) -> Vm:
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=(self.console_path.parent / "qemu.stderr").open("wb"))
        self.started_s = time.monotonic()
        return self

    def console(self) -> str:
        try:
            raw = self.console_path.read_bytes()
        except FileNotFoundError:
            return ""
        return raw.decode("utf-8", errors="replace").replace("\r", "")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.console().splitlines()[-lines:])

    def wait_for(self, pattern: str, timeout_s: float, since: int = 0) -> re.Match[str]:
        """The first console line matching `pattern` (re.MULTILINE) from character `since` on (a
        match's `end()`: after it), waiting up to `timeout_s`."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout_s
        while True:
            found = regex.search(self.console(), since)
            if found:
                return found
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"qemu exited ({self.proc.returncode}) before /{pattern}/;"
                                     f" console tail:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no /{pattern}/ on the console within {timeout_s:.0f} s;"
                                     f" console tail:\n{self.tail()}")
            time.sleep(1.0)

    def qmp(self, command: str) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(30)
            sock.connect(str(self.qmp_path))
            stream = sock.makefile("rw", encoding="utf-8")
            assert "QMP" in json.loads(stream.readline())
            for execute in ("qmp_capabilities", command):
                stream.write(json.dumps({"execute": execute}) + "\n")
                stream.flush()
                while True:  # skip asynchronous events until the command's answer
                    answer = json.loads(stream.readline())
                    if "return" in answer or "error" in answer:
                        break
                assert "return" in answer, answer

    def power_button(self, timeout_s: float) -> int:
        """Press the ACPI power button (systemd-logind powers off) and wait for qemu to exit."""
        assert self.proc is not None
        self.qmp("system_powerdown")
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"no power-off within {timeout_s:.0f} s; console tail:\n{self.tail()}") from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
