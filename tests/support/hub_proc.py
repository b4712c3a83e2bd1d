"""A real `vigil hub run` process on loopback for the hub's tests, its `vigil hub` verbs, and an
appliance's side of the hub's HTTP: sign-in, the enrolment exchange (a real CSR and the code's
HMAC), the mTLS token renewal with a site's certificate."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.http_call import free_port
from vigil.core.district import ENROL_ANSWER, ENROL_REQUEST, enrol_mac, enrol_mac_ok, parse_enrol_code

DAEMON_DIR = Path(__file__).resolve().parents[2] / "daemon"
PASSWORD = "correct-horse-battery"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(DAEMON_DIR), env.get("PYTHONPATH")]))
    return env


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class HubProcess:
    """`vigil hub run` with a config in `tmp` (free ports on 127.0.0.1); `extra` adds [hub] lines."""

    def __init__(self, tmp: Path, extra: str = "", hub_id: str = "district") -> None:
        self.tmp = tmp
        self.port, self.broker_port = free_port(), free_port()
        self.data = tmp / "hub-data"
        self.broker_pid_file = tmp / "mosquitto.pid"
        self.config = tmp / "hub.toml"
        self.config.write_text("\n".join([
            "[hub]", f'id = "{hub_id}"', 'name = "Test District"', f'data = "{self.data}"',
            f'public_url = "https://localhost:{self.port}"', 'listen_host = "127.0.0.1"', f"port = {self.port}",
            'broker_host = "localhost"', f"broker_port = {self.broker_port}",
            f"broker_client_port = {self.broker_port}", f'broker_pid_file = "{self.broker_pid_file}"', extra, ""]))
        self.url = f"https://localhost:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = tmp / "hub.log"

    @property
    def ca(self) -> Path:
        return self.data / "keys" / "ca.crt"

    def cli(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "vigil", "hub", *args, "--config", str(self.config)],
                              input=stdin, capture_output=True, text=True, env=_env(), timeout=120, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"vigil hub {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def add_user(self, name: str, role: str, *scopes: str) -> None:
        self.cli("user", "add", name, "--role", role, *[a for s in scopes for a in ("--scope", s)],
                 "--password-stdin", stdin=PASSWORD + "\n")

    def enrol_code(self, site_id: str, *extra: str) -> str:
        out = self.cli("enroll", site_id, "--name", f"Site {site_id}", *extra).stdout
        return out.split(": ", 1)[1].split()[0]

    def start(self, *, bare: bool = False, environ: dict[str, str] | None = None) -> HubProcess:
        """`vigil hub run --config F`, or (bare) `vigil hub --config F`; `environ` adds variables."""
        log = self.log_path.open("ab")
        verb = [] if bare else ["run"]
        self.proc = subprocess.Popen([sys.executable, "-m", "vigil", "hub", *verb, "--config", str(self.config)],
                                     stdout=log, stderr=log, env=_env() | (environ or {}))
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vigil hub exited: {self.log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("vigil hub did not start listening")

    def stop(self, signum: signal.Signals = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        code = self.proc.returncode
        self.proc = None
        return code

    def context(self, cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        if cert is not None:
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        return ctx

    def call(self, path: str, method: str = "GET", body: bytes | dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, cert: tuple[Path, Path] | None = None) -> Response:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        request = urllib.request.Request(self.url + path, data=data, headers=all_headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, context=self.context(cert), timeout=30) as r:  # noqa: S310
                return Response(int(r.status), r.read(), dict(r.headers))
        except urllib.error.HTTPError as error:
            return Response(int(error.code), error.read(), dict(error.headers))


@dataclass
class Session:
    """A signed-in browser: its cookie and CSRF token."""

    hub: HubProcess
    cookie: str
    csrf: str

    def call(self, path: str, method: str = "GET", body: dict[str, Any] | None = None, *, csrf: bool = True
             ) -> Response:
        headers = {"Cookie": self.cookie}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf
        return self.hub.call(path, method, body, headers)


def sign_in(hub: HubProcess, name: str, password: str = PASSWORD) -> Session:
    r = hub.call("/api/session", "POST", {"name": name, "password": password})
    assert r.status == 200, r.body
    cookie = r.headers["Set-Cookie"].split(";")[0]
    return Session(hub, cookie, r.json()["csrf_token"])


@dataclass
class Enrolled:
    answer: dict[str, Any]
    cert: Path
    key: Path
    ca: Path


def csr_for(key: ec.EllipticCurvePrivateKey, common_name: str) -> str:
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def enrol_request(code_text: str, site_id: str, csr_pem: str, url: str = "https://school.example:8443",
                  code_id: str | None = None) -> tuple[bytes, str]:
    """(body, MAC header) the way an appliance makes them."""
    code = parse_enrol_code(code_text)
    body = json.dumps({"code_id": code_id or code.code_id, "site_id": site_id, "csr_pem": csr_pem, "url": url,
                       "evidence_key": "ZXZpZGVuY2Uta2V5"}).encode()
    return body, enrol_mac(code, ENROL_REQUEST, body)


def enrol(hub: HubProcess, code_text: str, site_id: str, where: Path, url: str = "https://school.example:8443"
          ) -> Enrolled:
    """The appliance's side: a new key, its CSR (asking for another CN, which the hub ignores), the
    exchange, and the answer's MAC checked; the certificate and key written under `where`."""
    key = ec.generate_private_key(ec.SECP256R1())
    body, mac = enrol_request(code_text, site_id, csr_for(key, "not-the-site-id"), url)
    r = hub.call("/api/enrol", "POST", body, {"Vigil-Enrol-Mac": mac})
    assert r.status == 200, r.body
    assert enrol_mac_ok(parse_enrol_code(code_text), ENROL_ANSWER, r.body, r.headers["Vigil-Enrol-Mac"])
    answer = r.json()
    where.mkdir(parents=True, exist_ok=True)
    cert, key_path, ca = where / f"{site_id}.crt", where / f"{site_id}.key", where / "ca.crt"
    cert.write_text(answer["cert_pem"])
    ca.write_text(answer["ca_pem"])
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return Enrolled(answer, cert, key_path, ca)
