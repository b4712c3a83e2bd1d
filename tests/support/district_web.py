"""A district for browser tests (issue 17): a real `vigil hub run` with its district broker (Debian
mosquitto from `vigil hub broker-config`), and appliances (the real daemon) recording simulated
cameras, each enrolled through `vigil hub enroll` + `vigil district enroll`, each with its own
mosquitto whose bridge (the conf the enrolment wrote) carries its messages to the hub."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.camsim import DAEMON_DIR, CameraServer
from tests.support.http_call import free_port
from tests.support.mosquitto import Broker
from tests.support.vigil_proc import VigilProcess, run_vigil, vigil_stdin, wait_for

PASSWORD = "a long enough district password"


def _unverified() -> ssl.SSLContext:
    """The hub's and appliances' certificates are their own CAs'; these tests talk to them on loopback."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def call(base: str, method: str, path: str, body: dict[str, Any] | None = None,
         headers: dict[str, str] | None = None, opener: urllib.request.OpenerDirector | None = None,
         ) -> tuple[int, Any]:
    """One JSON request; (status, parsed body or raw text)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,  # noqa: S310 - loopback test peers
                                 headers={**({"Content-Type": "application/json"} if data else {}), **(headers or {})})
    open_ = opener.open if opener is not None else (
        lambda r, timeout: urllib.request.urlopen(r, timeout=timeout, context=_unverified()))  # noqa: S310
    try:
        with open_(req, timeout=30) as r:
            raw = r.read()
            status = int(r.status)
    except urllib.error.HTTPError as e:
        raw, status = e.read(), int(e.code)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


class HubSession:
    """A hub user signed in over HTTP (cookie jar + CSRF token), as the page would be."""

    def __init__(self, base: str, name: str, password: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=_unverified()),
                                                  urllib.request.HTTPCookieProcessor(self.jar))
        status, answer = call(base, "POST", "/api/session", {"name": name, "password": password}, opener=self.opener)
        assert status == 200, (status, answer)
        self.csrf = str(answer["csrf_token"])

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        return call(self.base, "POST", path, body, {"X-CSRF-Token": self.csrf}, opener=self.opener)

    def get(self, path: str) -> tuple[int, Any]:
        return call(self.base, "GET", path, opener=self.opener)


@dataclass
class Hub:
    base: str
    config: Path
    dir: Path
    proc: subprocess.Popen[bytes]
    log_path: Path

    def cli(self, *args: str, stdin: str | None = None) -> str:
        if stdin is not None:
            out = vigil_stdin(stdin, "hub", *args, "--config", str(self.config))
        else:
            out = run_vigil("hub", *args, "--config", str(self.config))
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        return out.stdout

    def add_user(self, name: str, role: str, *scopes: str) -> None:
        args = ["user", "add", name, "--role", role, "--password-stdin"]
        for s in scopes:
            args += ["--scope", s]
        self.cli(*args, stdin=PASSWORD + "\n")

    def enrol_code(self, site_id: str, name: str) -> str:
        """`vigil hub enroll` prints "enrolment code for site SITE: CODE", then its expiry."""
        out = self.cli("enroll", site_id, "--name", name)
        return out.splitlines()[0].rsplit(": ", 1)[1].strip()

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_hub(tmp: Path) -> Iterator[Hub]:
    port, broker_port = free_port(), free_port()
    data = tmp / "hub"
    config = tmp / "hub.toml"
    config.write_text("\n".join([
        "[hub]", 'id = "district-test"', 'name = "Test District"', f'data = "{data}"',
        f'public_url = "https://127.0.0.1:{port}"', 'listen_host = "127.0.0.1"', f"port = {port}",
        'broker_host = "127.0.0.1"', f"broker_port = {broker_port}", 'broker_client_host = "127.0.0.1"',
        f"broker_client_port = {broker_port}", f'broker_pid_file = "{tmp / "hub-broker.pid"}"',
        # tokens live 70 s: the appliance page renews its session 60 s before the end, 10 s in
        "token_lifetime_s = 70", "silent_after_s = 60",
    ]) + "\n")
    env = dict(os.environ, PYTHONPATH=str(DAEMON_DIR))
    with ExitStack() as stack:
        out = run_vigil("hub", "broker-config", "--config", str(config))
        assert out.returncode == 0, out.stderr
        conf = Path(out.stdout.strip().splitlines()[-1])  # runs as this user, writes broker_pid_file
        broker_log = (tmp / "hub-broker.log").open("ab")
        stack.callback(broker_log.close)
        broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=broker_log, stderr=broker_log)
        stack.callback(broker.wait, 10)
        stack.callback(broker.terminate)
        log_path = tmp / "hub.log"
        log = log_path.open("wb")
        stack.callback(log.close)
        proc = subprocess.Popen([sys.executable, "-m", "vigil", "hub", "run", "--config", str(config)],
                                stdout=subprocess.DEVNULL, stderr=log, env=env)

        def stop() -> None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        stack.callback(stop)
        hub = Hub(f"https://127.0.0.1:{port}", config, data, proc, log_path)

        def up() -> bool:
            assert proc.poll() is None, hub.log
            try:
                return call(hub.base, "GET", "/api/me")[0] == 401
            except OSError:
                return False
        wait_for(up, 30, "the hub's HTTPS")
        yield hub


@dataclass
class Site:
    id: str
    name: str
    base: str
    config: Path
    vigil: VigilProcess
    broker: Broker
    buildings: dict[str, str]  # id -> name
    cameras: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (building, name)

    def json(self, method: str, path: str, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return call(self.base, method, path, body, headers)


def site_config(data: Path, port: int, cams: CameraServer, buildings: dict[str, str],
                cameras: dict[str, tuple[str, str, str]], broker_port: int, bridge_conf: Path) -> str:
    lines = ["[storage]", f'path = "{data}"', "min_free_bytes = 0", "segment_duration_s = 10",
             "[http]", f'listen = "127.0.0.1:{port}"', f'public_url = "https://127.0.0.1:{port}"',
             "[district]", 'broker_host = "127.0.0.1"', f"broker_port = {broker_port}", "health_interval_s = 2",
             f'bridge_conf_path = "{bridge_conf}"', f'public_url = "https://127.0.0.1:{port}"']
    for b_id, b_name in buildings.items():
        lines += ["[[buildings]]", f'id = "{b_id}"', f'name = "{b_name}"']
    for c_id, (building, name, mount) in cameras.items():
        lines += ["[[cameras]]", f'id = "{c_id}"', f'building = "{building}"', f'name = "{name}"',
                  f'url = "{cams.url(mount)}"', "timeout_s = 3"]
    return "\n".join(lines) + "\n"


@contextmanager
def running_site(tmp: Path, hub: Hub, cams: CameraServer, site_id: str, name: str, buildings: dict[str, str],
                 cameras: dict[str, tuple[str, str, str]]) -> Iterator[Site]:
    """An appliance enrolled at `hub` (cameras: id -> (building, name, camsim mount)), recording."""
    port = free_port()
    confd = tmp / "mosquitto.d"
    confd.mkdir(parents=True)
    bridge_conf = confd / "vigil-district.conf"
    broker = Broker(tmp, extra=(f"include_dir {confd}",))
    config = tmp / "vigil.toml"
    config.write_text(site_config(tmp / "data", port, cams, buildings, cameras, broker.port, bridge_conf))
    code = hub.enrol_code(site_id, name)
    out = run_vigil("district", "enroll", "--hub", hub.base, "--code", code, "--site-id", site_id,
                    "--url", f"https://127.0.0.1:{port}", "--config", str(config))
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert bridge_conf.exists(), out.stdout
    broker.start()
    vigil = VigilProcess(config)
    try:
        site = Site(site_id, name, f"https://127.0.0.1:{port}", config, vigil, broker, buildings,
                    {c: (b, n) for c, (b, n, _) in cameras.items()})
        def up() -> bool:
            assert vigil.proc.poll() is None, vigil.log
            try:
                return site.json("GET", "/api/cameras")[0] == 401
            except OSError:
                return False
        wait_for(up, 30, f"{site_id}'s API")
        # The hub calls the appliance's HTTPS (search, export pulls) pinning its self-signed
        # certificate by the fingerprint the site's inventory carries (hub/site_calls.py): no CA.
        yield site
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
        broker.stop()


def wait_recording(site: Site, token: str, seconds: float) -> None:
    """Until every camera of `site` has recorded `seconds` (asked with a hub token as bearer)."""
    def enough() -> bool:
        for camera in site.cameras:
            status, answer = site.json("GET", f"/api/cameras/{camera}/segments",
                                       headers={"Authorization": f"Bearer {token}"})
            if status != 200 or not answer["segments"]:
                return False
            if time.time_ns() - int(answer["segments"][0]["start_wall_ns"]) < seconds * 1e9:
                return False
        return True
    wait_for(enough, seconds + 60, f"{seconds} s of recording at {site.id}", interval_s=1.0)
