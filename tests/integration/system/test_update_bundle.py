"""Update bundles and the boot entries, with the real tools: bundles made by image-build/bundle.sh
(rauc, mksquashfs) and signed with keys openssl makes; `vigil update verify` judged by rauc's own
signature check; the bundle's install hook run as RAUC runs it; RAUC's custom backend verbs over a
real directory standing in for the ESP. The whole install in a booted appliance is the qemu test's
(tests/e2e/appliance)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vigil.cli.main import main

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(shutil.which("rauc") is None or shutil.which("mksquashfs") is None,
                                reason="needs rauc and squashfs-tools (bash .ci/install)")


def _key(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key.pem", directory / f"{name}.cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", f"/CN={name}", "-days", "30"], check=True, capture_output=True)
    return key, cert


def _bundle(tmp: Path, version: str, key: Path, cert: Path) -> Path:
    root = tmp / f"root-{version}"
    (root / "etc").mkdir(parents=True)
    (root / "boot").mkdir()
    (root / "etc" / "vigil-image-version").write_text(f"{version}\n")
    (root / "boot" / "vmlinuz-6.1.0-28-amd64").write_bytes(b"kernel " + os.urandom(100_000))
    (root / "boot" / "initrd.img-6.1.0-28-amd64").write_bytes(b"initrd " + os.urandom(100_000))
    image = tmp / f"root-{version}.ext4"
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d", str(root), str(image), "8M"], check=True)
    out = tmp / f"vigil-{version}.raucb"
    subprocess.run([str(REPO / "image-build" / "bundle.sh"), str(image), version, str(out)], check=True,
                   env=dict(os.environ, VIGIL_RELEASE_KEY=str(key), VIGIL_RELEASE_CERT=str(cert)))
    return out


def test_only_bundles_signed_by_the_release_key_are_accepted(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    key, cert = _key(tmp_path, "vigil-release")
    other_key, other_cert = _key(tmp_path, "someone-else")
    bundle = _bundle(tmp_path, "0.21.0", key, cert)
    assert main(["update", "verify", str(bundle), "--keyring", str(cert)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["compatible"], info["version"]) == ("vigil-appliance-x86_64", "0.21.0")
    # Signed by another key: refused, by rauc's check, with its reason.
    forged = _bundle(tmp_path, "0.21.1", other_key, other_cert)
    assert main(["update", "verify", str(forged), "--keyring", str(cert)]) != 0
    assert "refused" in capsys.readouterr().err
    # A truncated download: refused.
    truncated = tmp_path / "truncated.raucb"
    truncated.write_bytes(bundle.read_bytes()[: bundle.stat().st_size * 2 // 3])
    assert main(["update", "verify", str(truncated), "--keyring", str(cert)]) != 0
    assert "refused" in capsys.readouterr().err
    # apply refuses what verify refuses, before rauc install could write anything.
    assert main(["update", "apply", str(forged), "--keyring", str(cert)]) != 0
    assert "refused" in capsys.readouterr().err


def test_install_hook_carries_the_configuration_and_places_the_kernel(tmp_path: Path) -> None:
    running, new, esp = tmp_path / "running", tmp_path / "new", tmp_path / "esp"
    (running / "etc" / "vigil").mkdir(parents=True)
    (running / "etc" / "vigil" / "vigil.toml").write_text("[appliance]\nsite_id = \"s1\"\n")
    (running / "etc" / "machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (new / "etc").mkdir(parents=True)
    (new / "boot").mkdir()
    (new / "etc" / "vigil-image-version").write_text("0.21.0\n")
    (new / "boot" / "vmlinuz-6.1.0-28-amd64").write_bytes(b"new kernel")
    (new / "boot" / "initrd.img-6.1.0-28-amd64").write_bytes(b"new initrd")
    env = dict(os.environ, RAUC_SLOT_CLASS="rootfs", RAUC_SLOT_MOUNT_POINT=str(new), RAUC_SLOT_BOOTNAME="b",
               VIGIL_ESP=str(esp), VIGIL_RUNNING_ROOT=str(running))
    subprocess.run([str(REPO / "image-build" / "rauc-hook.sh"), "slot-post-install"], check=True, env=env)
    assert (new / "etc" / "vigil" / "vigil.toml").read_text() == "[appliance]\nsite_id = \"s1\"\n"
    assert (new / "etc" / "machine-id").read_text().startswith("0123")
    assert (esp / "vigil" / "b" / "linux").read_bytes() == b"new kernel"
    assert (esp / "vigil" / "b" / "initrd").read_bytes() == b"new initrd"
    assert (esp / "vigil" / "b" / "version").read_text().strip() == "0.21.0"
    # Another hook phase, or another slot class: nothing done.
    (esp / "vigil" / "b" / "linux").write_bytes(b"kept")
    subprocess.run([str(REPO / "image-build" / "rauc-hook.sh"), "install-check"], check=True, env=env)
    assert (esp / "vigil" / "b" / "linux").read_bytes() == b"kept"


def _backend(esp: Path, slots: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["update", "backend", *args, "--esp", str(esp), "--slots-file", str(slots)]) == 0
    return capsys.readouterr().out.strip()


def test_backend_verbs_update_roll_back_and_commit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """RAUC's sequence for an install into b (set-state b bad, then set-primary b), systemd-boot's
    renames while b fails three times, then a second install that commits."""
    esp, slots = tmp_path / "esp", tmp_path / "boot-slots.json"
    entries = esp / "loader" / "entries"
    entries.mkdir(parents=True)
    (entries / "vigil-a.conf").write_text("title Vigil 0.20.0 (slot A)\nversion 1\nsort-key vigil\n")
    (esp / "vigil" / "b").mkdir(parents=True)
    (esp / "vigil" / "b" / "version").write_text("0.21.0\n")
    slots.write_text(json.dumps({"cmdline": "rw console=ttyS0,115200",
                                 "slots": {"a": {"partuuid": "aaaa"}, "b": {"partuuid": "bbbb"}}}))
    assert _backend(esp, slots, "get-primary", capsys=capsys) == "a"
    assert _backend(esp, slots, "get-state", "b", capsys=capsys) == "bad"
    _backend(esp, slots, "set-state", "b", "bad", capsys=capsys)
    _backend(esp, slots, "set-primary", "b", capsys=capsys)
    assert sorted(p.name for p in entries.iterdir()) == ["vigil-a.conf", "vigil-b+3.conf"]
    text = (entries / "vigil-b+3.conf").read_text()
    assert "title      Vigil 0.21.0 (slot B)" in text and "root=PARTUUID=bbbb rauc.slot=b rw console" in text
    assert _backend(esp, slots, "get-primary", capsys=capsys) == "b"
    # systemd-boot counts three failed tries down.
    for old, new in [("+3", "+2-1"), ("+2-1", "+1-2"), ("+1-2", "+0-3")]:
        (entries / f"vigil-b{old}.conf").rename(entries / f"vigil-b{new}.conf")
    assert _backend(esp, slots, "get-primary", capsys=capsys) == "a"
    assert _backend(esp, slots, "get-state", "b", capsys=capsys) == "bad"
    assert main(["update", "status", "--esp", str(esp)]) == 0  # reads this machine's /proc/cmdline
    capsys.readouterr()
    # Installed again; this time the boot reaches boot-complete and RAUC marks it good.
    _backend(esp, slots, "set-primary", "b", capsys=capsys)
    (entries / "vigil-b+3.conf").rename(entries / "vigil-b+2-1.conf")
    _backend(esp, slots, "set-state", "b", "good", capsys=capsys)
    assert sorted(p.name for p in entries.iterdir()) == ["vigil-a.conf", "vigil-b.conf"]
    assert _backend(esp, slots, "get-primary", capsys=capsys) == "b"
