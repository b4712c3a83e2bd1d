"""`vigil provision`: turn a provisioning input into a configured appliance, idempotently.

Writes, each only if absent: the TLS certificate and key, the evidence signing key, the first
district admin (its one-time password shown on the console, never logged), and last the
configuration file, whose existence marks the appliance as provisioned. Re-running never
overwrites a key, a user or the configuration; it says what it kept."""

from __future__ import annotations

import asyncio
import grp
import json
import os
import pwd
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from vigil.config import Config, parse_config
from vigil.district.state import PendingEnrolment, district_files, load_enrolment, pending_path, write_pending
from vigil.record.storage import create_new_file
from vigil.services import accounts
from vigil.services.caller import Caller, Via
from vigil.services.env import service_env
from vigil.system.provision_input import ProvisionInput
from vigil.system.provision_sources import ProvisionSource

SERVICE_USER = "vigil"
DEMO_RTSP_URL = "rtsp://127.0.0.1:8554/demo"  # systemd/vigil-demo-camera.service
SIGNING_KEY_RELPATH = Path("keys") / "signing-ed25519.pem"


@dataclass(frozen=True)
class ProvisionPaths:
    config_file: Path = Path("/etc/vigil/vigil.toml")
    state_dir: Path = Path("/var/lib/vigil")
    recordings_disk: Path = Path("/srv/vigil")

    @property
    def demo_marker(self) -> Path:
        return self.config_file.parent / "demo-camera"

    @property
    def tls_dir(self) -> Path:
        return self.state_dir / "tls"  # where the daemon looks for (or makes) its certificate

    @property
    def signing_key(self) -> Path:
        return self.state_dir / SIGNING_KEY_RELPATH


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int

    @staticmethod
    def service_user() -> Owner | None:
        """The vigil user when running as root (files we create become its), else None."""
        if os.geteuid() != 0:
            return None
        try:
            return Owner(pwd.getpwnam(SERVICE_USER).pw_uid, grp.getgrnam(SERVICE_USER).gr_gid)
        except KeyError:
            return None


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def render_config(spec: ProvisionInput, paths: ProvisionPaths, source: ProvisionSource) -> str:
    recordings = paths.recordings_disk if spec.recording_disk else paths.state_dir / "recordings"
    lines = [
        f"# Written by `vigil provision` from {source.kind} input {source.where}.",
        "# Provisioning never rewrites this file: edit it, then `vigil check --config` it.",
        "[appliance]", f"site_id = {_q(spec.site_id)}", "",
        "[storage]", f"path = {_q(str(paths.state_dir))}", f"recordings_path = {_q(str(recordings))}",
        f"require_mount = {'true' if spec.recording_disk else 'false'}", "",
        "[[buildings]]", f"id = {_q(spec.building_id)}", f"name = {_q(spec.building_name)}", "",
        "[http]", 'listen = "0.0.0.0:8443"', "",
    ]
    if spec.district is not None and spec.district.url is not None:
        lines += ["[district]", f"public_url = {_q(spec.district.url)}", ""]
    if spec.demo_camera:
        lines += ["[[cameras]]", 'id = "demo-cam"', f"building = {_q(spec.building_id)}",
                  'name = "Synthetic demo camera"', f"url = {_q(DEMO_RTSP_URL)}", ""]
    return "\n".join(lines)


class Provisioner:
    def __init__(self, paths: ProvisionPaths, owner: Owner | None, out: TextIO, console: TextIO) -> None:
        self.paths = paths
        self.owner = owner
        self.out = out
        self.console = console

    def say(self, message: str) -> None:
        print(f"vigil provision: {message}", file=self.out, flush=True)

    def run(self, spec: ProvisionInput, source: ProvisionSource) -> None:
        self.say(f"using {source.kind} input {source.where} (site {spec.site_id}, building {spec.building_id})")
        text = render_config(spec, self.paths, source)
        config = parse_config(text, self.paths.config_file)  # what we write must be what the daemon accepts
        self._state_dir(self.paths.state_dir)
        if spec.tls_cert_pem is not None and spec.tls_key_pem is not None:
            self._tls(spec.tls_cert_pem, spec.tls_key_pem)
        if spec.signing_key_pem is not None:
            self._secret_file(self.paths.signing_key, spec.signing_key_pem, "evidence signing key")
        self._admin(config, spec.admin_name)
        if spec.district is not None:
            self._district(config, spec)
        if spec.demo_camera:
            self._new_file(self.paths.demo_marker, b"demo camera requested by provisioning\n", 0o644, chown=False)
        if self._config_file(text.encode()):
            self.say(f"wrote {self.paths.config_file}")
        else:
            self.say(f"kept the existing {self.paths.config_file}")

    def _district(self, config: Config, spec: ProvisionInput) -> None:
        """Enrolment needs the network, which provisioning runs without: the request waits in a
        file (0600, the code is a secret) for vigil-district-enrol.service (`vigil district
        enroll-pending`), which reports how it went on the console and in the journal."""
        district = spec.district
        assert district is not None
        files = district_files(config.storage.path)
        enrolled = load_enrolment(config.storage.path)
        if enrolled is not None:
            self.say(f"kept the existing enrolment with hub {enrolled.info.hub_name!r} ({enrolled.info.hub_url})")
            return
        url = district.url or f"https://{socket.getfqdn()}:8443"
        path = write_pending(files, PendingEnrolment(district.hub_url, district.enrol_code, district.site_id, url))
        for made in (files.dir.parent, files.dir, path):
            self._chown(made)
        self.say(f"enrolment with the district hub {district.hub_url} (as {url}) waits for the network in "
                 f"{pending_path(files)}: vigil-district-enrol.service does it and reports on the console")

    def _config_file(self, data: bytes) -> bool:
        """The configuration, owned by the daemon's user, mode 0600 (camera passwords; the daemon
        edits it from the API, design/cameras.md). Its directory is the daemon's too, so the daemon
        can replace the file atomically (a temp file renamed beside it); it stays 0755, the demo
        camera's marker readable by its service."""
        path = self.paths.config_file
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        self._chown(path.parent)
        return create_new_file(path, data, 0o600, self._chown)

    def _state_dir(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True, mode=0o750)

    def _chown(self, path: Path, group_only: bool = False) -> None:
        if self.owner is not None and path.exists():
            os.chown(path, 0 if group_only else self.owner.uid, self.owner.gid)

    def _new_file(self, path: Path, data: bytes, mode: int, *, chown: bool = True, group_only: bool = False) -> bool:
        """Create `path` with `data` unless it exists (True: created). Never overwrites."""
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if chown else 0o755)
        if chown:
            self._chown(path.parent)
        def own(tmp: Path) -> None:
            self._chown(tmp, group_only=group_only)

        return create_new_file(path, data, mode, own if chown or group_only else None)

    def _secret_file(self, path: Path, data: bytes, what: str) -> None:
        if self._new_file(path, data, 0o600):
            self.say(f"installed the {what} {path}")
        else:
            self.say(f"kept the existing {what} {path} (provisioning never replaces keys)")

    def _tls(self, cert: bytes, key: bytes) -> None:
        cert_path, key_path = self.paths.tls_dir / "cert.pem", self.paths.tls_dir / "key.pem"
        if cert_path.exists() or key_path.exists():
            self.say(f"kept the existing TLS certificate in {self.paths.tls_dir} (provisioning never replaces keys)")
            return
        self._new_file(key_path, key, 0o600)
        self._new_file(cert_path, cert, 0o644)
        self.say(f"installed the TLS certificate {cert_path}")

    def _admin(self, config: Config, name: str) -> None:
        index_path = config.storage.index_path
        now = time.time_ns()
        try:
            with service_env(config, now) as env:
                password = asyncio.run(accounts.create_first_admin(env, Caller(None, Via.CLI, now, name="provision"),
                                                                   name))
        finally:
            for suffix in ("", "-wal", "-shm"):
                self._chown(index_path.with_name(index_path.name + suffix))
        if password is None:
            self.say("kept the existing users (a district admin exists already)")
            return
        self.say(f"created the district admin {name!r}; its one-time password is on the console")
        print(f"\n*** Vigil: first district admin {name!r}, password: {password}\n"
              "*** Shown once. Sign in and change it (vigil user passwd).\n", file=self.console, flush=True)
