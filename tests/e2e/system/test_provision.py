"""`vigil provision` from each source (systemd credentials, the boot partition, a USB stick in a
umockdev testbed), idempotence (keys, users and the configuration are never replaced) and
malformed input (every problem named, nothing written)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from tests.support.vigil_proc import DAEMON_DIR
from vigil.config import load_config
from vigil.core.errors import ConfigError
from vigil.core.permissions import Role
from vigil.passwords import verify_password
from vigil.store.accounts import Accounts
from vigil.store.index import Index

SUPPORT = Path(__file__).resolve().parents[2] / "support"
BASE = """\
site_id = "springfield"
[building]
id = "hs"
name = "Springfield \\"High\\""
[options]
demo_camera = true
"""


def _pem_key(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _cert_and_key() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigil-hs.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), _pem_key(key)


def full_input() -> str:
    cert, key = _cert_and_key()
    signing = _pem_key(ed25519.Ed25519PrivateKey.generate())
    return BASE + f"[tls]\ncert = '''{cert}'''\nkey = '''{key}'''\n[signing]\nkey = '''{signing}'''\n"


def provision(tmp: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`vigil provision` writing under tmp/ (config in tmp/etc, state in tmp/state)."""
    environ = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    environ["PYTHONPATH"] = str(DAEMON_DIR)
    environ.update(env or {})
    args = ["provision", "--config-out", str(tmp / "etc/vigil.toml"), "--state-dir", str(tmp / "state"),
            "--console", str(tmp / "console"), *extra]
    return subprocess.run([sys.executable, "-m", "vigil", *args], capture_output=True, text=True, env=environ,
                          timeout=120, check=False)


def console_password(tmp: Path) -> str:
    match = re.search(r"first district admin 'admin', password: (\S+)", (tmp / "console").read_text())
    assert match, (tmp / "console").read_text()
    return match.group(1)


def check_provisioned(tmp: Path, done: subprocess.CompletedProcess[str], source: str) -> str:
    assert done.returncode == 0, done.stderr
    assert f"using {source} input" in done.stdout
    config = load_config(tmp / "etc/vigil.toml")
    assert config.appliance.site_id == "springfield"
    assert [(b.id, b.name) for b in config.buildings] == [("hs", 'Springfield "High"')]
    assert [c.url for c in config.cameras] == ["rtsp://127.0.0.1:8554/demo"]  # the demo camera asked for
    assert config.storage.recordings_path == Path("/srv/vigil") and config.storage.require_mount
    assert (tmp / "etc/demo-camera").exists()
    # camera passwords inside: the daemon's only (it edits the file, design/cameras.md)
    assert (tmp / "etc/vigil.toml").stat().st_mode & 0o777 == 0o600
    assert (tmp / "etc/demo-camera").stat().st_mode & 0o777 == 0o644
    password = console_password(tmp)
    assert password not in done.stdout + done.stderr  # the secret goes to the console only
    index = Index.open(tmp / "state/index.sqlite3", 0)
    try:
        (admin,) = Accounts(index).users()
        assert (admin.name, admin.role) == ("admin", Role.DISTRICT_ADMIN)
        assert verify_password(index.query("SELECT password_hash FROM users")[0][0], password)
    finally:
        index.close()
    return password


def test_from_systemd_credentials_with_keys(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    text = full_input()
    (creds / "vigil.provision").write_text(text)
    boot = tmp_path / "boot.toml"
    boot.write_text(BASE.replace("springfield", "not-this-one"))  # credentials come first
    done = provision(tmp_path, "--boot-file", str(boot), "--no-usb", env={"CREDENTIALS_DIRECTORY": str(creds)})
    check_provisioned(tmp_path, done, "credential")
    signing = tmp_path / "state/keys/signing-ed25519.pem"
    assert signing.stat().st_mode & 0o777 == 0o600
    assert isinstance(serialization.load_pem_private_key(signing.read_bytes(), None), ed25519.Ed25519PrivateKey)
    assert (tmp_path / "state/tls/key.pem").stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate((tmp_path / "state/tls/cert.pem").read_bytes())
    assert cert.subject.rfc4514_string() == "CN=vigil-hs.example"
    assert "BEGIN PRIVATE KEY" not in done.stdout + done.stderr


def test_from_the_boot_partition(tmp_path: Path) -> None:
    boot = tmp_path / "efi/vigil-provision.toml"
    boot.parent.mkdir()
    boot.write_text(BASE)
    done = provision(tmp_path, "--boot-file", str(tmp_path / "absent.toml"), "--boot-file", str(boot), "--no-usb")
    check_provisioned(tmp_path, done, "boot")
    assert not (tmp_path / "state/keys").exists()  # none given: the daemon makes its own at first start


@pytest.mark.skipif(not (shutil.which("umockdev-wrapper") and shutil.which("mkfs.vfat") and shutil.which("mtype")),
                    reason="needs umockdev, dosfstools and mtools")
def test_from_a_usb_stick_read_without_mounting(tmp_path: Path) -> None:
    (tmp_path / "vigil-provision.toml").write_text(BASE)
    image = tmp_path / "stick.img"
    subprocess.run(["mkfs.vfat", "-C", "-n", "VIGIL-PROV", str(image), "512"], check=True, capture_output=True)
    subprocess.run(["mcopy", "-i", str(image), str(tmp_path / "vigil-provision.toml"), "::/"], check=True,
                   env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    args = ["--config-out", str(tmp_path / "etc/vigil.toml"), "--state-dir", str(tmp_path / "state"),
            "--console", str(tmp_path / "console"), "--boot-file", str(tmp_path / "absent.toml")]
    environ = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    environ["PYTHONPATH"] = os.pathsep.join([str(DAEMON_DIR), str(SUPPORT)])
    done = subprocess.run(["umockdev-wrapper", sys.executable, str(SUPPORT / "udev_testbed.py"), "provision-usb",
                           str(image), "--", *args], capture_output=True, text=True, env=environ, timeout=120,
                          check=False)
    check_provisioned(tmp_path, done, "usb")
    assert "input /dev/sdz1" in done.stdout


def test_rerunning_replaces_nothing(tmp_path: Path) -> None:
    first = tmp_path / "first.toml"
    first.write_text(full_input())
    done = provision(tmp_path, "--boot-file", str(first), "--no-usb")
    password = check_provisioned(tmp_path, done, "boot")
    before = {p: p.read_bytes() for p in [tmp_path / "etc/vigil.toml", tmp_path / "state/keys/signing-ed25519.pem",
                                          tmp_path / "state/tls/cert.pem", tmp_path / "state/tls/key.pem"]}
    second = tmp_path / "second.toml"
    second.write_text(full_input().replace("springfield", "shelbyville"))  # new keys, another site
    done = provision(tmp_path, "--boot-file", str(second), "--no-usb")
    assert done.returncode == 0, done.stderr
    assert {p: p.read_bytes() for p in before} == before
    for kept in ("kept the existing evidence signing key", "kept the existing TLS certificate",
                 "kept the existing users", f"kept the existing {tmp_path / 'etc/vigil.toml'}"):
        assert kept in done.stdout, done.stdout
    assert console_password(tmp_path) == password  # no second password shown
    assert (tmp_path / "console").read_text().count("password:") == 1


@pytest.mark.parametrize(("text", "problems"), [
    ("site_id = [", ["not valid TOML"]),
    ("[building]\nid = 'hs'\n", ["site_id: missing (required)"]),
    ("site_id = 'Bad Id'\nflavour = 1\n[building]\nname = 'x'\n",
     ["site_id: 'Bad Id' is not a valid id", "flavour: unknown key", "building.id: missing (required)"]),
    (BASE + "[tls]\ncert = 'x'\n", ["tls: give both cert and key, or neither"]),
    (BASE + "[tls]\ncert = 'x'\nkey = 'y'\n", ["tls.cert: not a PEM certificate", "tls.key: not an unencrypted PEM"]),
    (BASE.replace("demo_camera = true", "demo_camera = 'yes'"), ["options.demo_camera: expected true/false"]),
    ("site_id = 'x'\nbuilding = 'hs'\n[admin]\nrole = 'root'\n",
     ["building: expected a table, got a string", "admin.role: unknown key"]),
])
def test_malformed_input_names_every_problem_and_writes_nothing(tmp_path: Path, text: str,
                                                               problems: list[str]) -> None:
    source = tmp_path / "in.toml"
    source.write_text(text)
    done = provision(tmp_path, "--input", str(source))
    assert done.returncode == 2
    for problem in problems:
        assert problem in done.stderr, done.stderr
    assert str(source) in done.stderr
    assert not (tmp_path / "etc").exists() and not (tmp_path / "state").exists()


def test_a_signing_key_of_the_wrong_kind_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.toml"
    source.write_text(BASE + f"[signing]\nkey = '''{_pem_key(ec.generate_private_key(ec.SECP256R1()))}'''\n")
    done = provision(tmp_path, "--input", str(source))
    assert done.returncode == 2 and "signing.key: must be an Ed25519 private key" in done.stderr
    assert "BEGIN PRIVATE KEY" not in done.stderr


def test_no_input_anywhere_says_where_it_looked(tmp_path: Path) -> None:
    done = provision(tmp_path, "--boot-file", str(tmp_path / "efi/vigil-provision.toml"), "--no-usb",
                     env={"CREDENTIALS_DIRECTORY": str(tmp_path / "creds")})
    assert done.returncode == 2
    assert "no provisioning input found" in done.stderr
    assert "Vigil provisioning failed: no provisioning input found" in (tmp_path / "console").read_text()
    assert str(tmp_path / "creds/vigil.provision") in done.stderr and "VIGIL-PROV" in done.stderr


def test_a_stick_still_being_probed_is_waited_for() -> None:
    from vigil.system.provision_sources import find_source

    seen: list[list[str]] = [[], [], ["/dev/sdb1"]]
    slept: list[float] = []
    source = find_source([], [], lambda: seen.pop(0), lambda node: f"read {node}", usb_wait_s=5, sleep=slept.append)
    assert (source.kind, source.where, source.text, slept) == ("usb", "/dev/sdb1", "read /dev/sdb1", [1.0, 1.0])
    slept.clear()
    with pytest.raises(ConfigError, match="no provisioning input found"):
        find_source([], [], lambda: [], lambda node: "", usb_wait_s=3, sleep=slept.append)
    assert slept == [1.0, 1.0, 1.0]
