"""The unit files, checked by systemd's own tools against a root tree holding the programs they run.

`systemd-analyze verify` exits 0 on some parse errors (an unknown key is only a warning), so any
output at all is a failure. `systemd-analyze security` must keep each unit under its threshold."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = sorted(p for p in (REPO / "systemd").iterdir() if p.suffix in (".service", ".mount"))
# Exposure measured on systemd 252 (`systemd-analyze security --offline=true`); lower is better.
EXPOSURE_MAX = {"vigil.service": 1.6, "vigil-provision.service": 2.2, "vigil-demo-camera.service": 1.8}

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
    assert set(EXPOSURE_MAX) <= {u.name for u in UNITS}


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


@pytest.mark.parametrize("name", sorted(EXPOSURE_MAX))
def test_exposure_under_threshold(root: Path, name: str) -> None:
    done = _analyze(root, "security", "--offline=true", str(root / "etc/systemd/system" / name))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= EXPOSURE_MAX[name], done.stdout


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
