"""The unit files, checked by systemd's own tools against a root tree holding the programs they run.

`systemd-analyze verify` exits 0 on some parse errors (an unknown key is only a warning), so any
output at all is a failure. `systemd-analyze security` must keep each unit under its threshold."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
UNITS = sorted(p for p in (REPO / "systemd").iterdir() if p.suffix in (".service", ".mount", ".path"))
# Every service we ship, with its highest allowed exposure (`systemd-analyze security --offline=true`,
# measured on systemd 252; lower is better) and why it cannot be lower.
EXPOSURE_MAX = {
    "vigil.service": (1.6, "measured 1.5: a network service (AF_INET/6 for cameras and the API, AF_NETLINK for"
                           " udev); MemoryDenyWriteExecute/ProcSubset unverified with FFmpeg and aiortc"),
    "vigil-provision.service": (2.2, "measured 2.1: root, to read the boot partition, the USB stick and"
                                     " /run/credentials and chown what it writes (CAP_CHOWN/FOWNER/DAC_*)"),
    "vigil-demo-camera.service": (1.6, "measured 1.5: a GStreamer RTSP server on 127.0.0.1 (AF_INET/6;"
                                       " IPAddressAllow=localhost only)"),
    "vigil-district-enrol.service": (2.7, "measured 2.6: root, to write mosquitto's bridge configuration and"
                                          " chown the keys (CAP_CHOWN/FOWNER/DAC_*), and the network to the hub"),
    "vigil-data-prepare.service": (1.5, "measured 1.4: root, to chown the fresh disk's root to vigil"
                                        " (CAP_CHOWN/FOWNER/DAC_*, the @privileged chown calls)"),
    "vigil-trial-check.service": (1.6, "measured 1.5: root (no capabilities) to read the ESP's boot entries and ask"
                                       " systemd about vigil.service"),
    "vigil-update.service": (2.0, "measured 1.9: root, to read the request and bundle the vigil user left, make"
                                  " the bundle root's and write the result (CAP_DAC_*, CAP_CHOWN/FOWNER)"),
    "vigil-update-status.service": (1.6, "measured 1.5: root (no capabilities) to read the ESP, write /run and"
                                         " ask RAUC over D-Bus"),
}
SERVICES = sorted(u.name for u in UNITS if u.suffix == ".service")

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")


def _programs(unit: Path) -> set[str]:
    found = set()
    for line in unit.read_text().splitlines():
        match = re.match(r"^Exec\w+=[-+!@:]*(/\S+)", line)
        if match:
            found.add(match.group(1))
    return found


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root tree: systemd's own units, ours in /etc/systemd/system, a stub for every program."""
    root = tmp_path_factory.mktemp("root")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(unit, root / "etc/systemd/system" / unit.name)
        for program in _programs(unit):
            stub = root / program.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n")
            stub.chmod(0o755)
    return root


def _analyze(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", *args, f"--root={root}"], capture_output=True, text=True,
                          timeout=120, check=False, cwd=root / "etc/systemd/system")


def test_every_unit_file_is_checked() -> None:
    assert {u.name for u in UNITS} >= {"vigil.service", "vigil-provision.service", "srv-vigil.mount"}
    assert sorted(EXPOSURE_MAX) == SERVICES  # a new unit gets a threshold (and a reason) here


def test_units_verify_without_any_output(root: Path) -> None:
    done = _analyze(root, "verify", *[u.name for u in UNITS])
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_verify_does_catch_a_typo(root: Path) -> None:
    """The check above can fail: a misspelt key is reported (while the exit status stays 0)."""
    broken = root / "etc/systemd/system/vigil-typo.service"
    broken.write_text((REPO / "systemd/vigil.service").read_text().replace("PrivateTmp=", "PrivateTemp="))
    try:
        done = _analyze(root, "verify", broken.name)
    finally:
        broken.unlink()
    assert "PrivateTemp" in done.stdout + done.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_exposure_under_threshold(root: Path, name: str) -> None:
    done = _analyze(root, "security", "--offline=true", str(root / "etc/systemd/system" / name))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    assert match, done.stdout + done.stderr
    threshold, reason = EXPOSURE_MAX[name]
    assert float(match.group(1)) <= threshold, f"{name} above {threshold} ({reason}):\n{done.stdout}"


def test_sysusers_tmpfiles_and_rules_parse(tmp_path: Path) -> None:
    """The service user and the data dir as systemd-sysusers/-tmpfiles would create them (--root)."""
    (tmp_path / "etc").mkdir()
    done = subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(REPO / "systemd/vigil.sysusers")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^vigil:x:\d+:\d+:Vigil recorder:/var/lib/vigil:", (tmp_path / "etc/passwd").read_text(), re.M)
    done = subprocess.run(["systemd-tmpfiles", "--create", f"--root={tmp_path}", str(REPO / "systemd/vigil.tmpfiles")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "srv/vigil").is_dir()
    if shutil.which("udevadm"):
        done = subprocess.run(["udevadm", "verify", str(REPO / "hw/60-vigil.rules")], capture_output=True,
                              text=True, check=False)
        if "Unknown command" not in done.stderr:  # `udevadm verify` is systemd 254+
            assert done.returncode == 0, done.stderr


def _bounding_set(unit: Path) -> list[str]:
    (line,) = [li for li in unit.read_text().splitlines() if li.startswith("CapabilityBoundingSet=")]
    return [c.removeprefix("CAP_").lower() for c in line.split("=", 1)[1].split()]


def _tmpfiles_with(caps: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    """vigil-data-prepare's ExecStart, as root holding only `caps` (and no new privileges)."""
    bounding = ",".join(["-all"] + [f"+{c}" for c in caps])
    return subprocess.run(["setpriv", f"--bounding-set={bounding}", "--inh-caps=-all", "--no-new-privs",
                           "systemd-tmpfiles", "--create", "--prefix=/srv/vigil", f"--root={root}",
                           str(REPO / "systemd/vigil.tmpfiles")], capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0, reason="needs root and setpriv")
def test_data_prepare_capabilities_are_enough_and_needed(tmp_path: Path) -> None:
    """The data-prepare unit's bounding set lets tmpfiles hand a fresh disk's root (root 0755) or a
    disk left with another mode to vigil; without CAP_CHOWN it cannot (so this check can fail)."""
    (tmp_path / "etc").mkdir()
    subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(REPO / "systemd/vigil.sysusers")],
                   capture_output=True, check=True)
    vigil_uid = next(int(line.split(":")[2]) for line in (tmp_path / "etc/passwd").read_text().splitlines()
                     if line.startswith("vigil:"))
    disk = tmp_path / "srv/vigil"
    disk.mkdir(parents=True)
    caps = _bounding_set(REPO / "systemd/vigil-data-prepare.service")
    for owner, mode in ((0, 0o755), (vigil_uid, 0o700)):
        os.chown(disk, owner, owner)
        disk.chmod(mode)
        done = _tmpfiles_with(caps, tmp_path)
        assert done.returncode == 0, done.stderr
        st = disk.stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (vigil_uid, vigil_uid, 0o750)
    os.chown(disk, 0, 0)
    assert _tmpfiles_with([c for c in caps if c != "chown"], tmp_path).returncode != 0
    assert disk.stat().st_uid == 0
