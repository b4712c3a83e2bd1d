"""A district on one machine for tests and the bench: the district CA and certificates (made with
cryptography, like hub/keys.py), the hub's broker (mosquitto configured like `vigil hub
broker-config`: TLS, require_certificate, the certificate's CN as user name, the ACL of
core.district.broker_acl), site brokers in their own network namespaces joined to the test's by a
veth pair, each bridged to the hub with core.district.bridge_conf."""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import os
import pwd
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.mosquitto import Broker
from vigil.core.district import BridgeSettings, bridge_conf, broker_acl
from vigil.hub.env import HUB_MQTT_USER, HubConfig, HubEnv, HubKeys
from vigil.store.hub_db import open_hub_db


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


class DistrictPki:
    """The district CA and what it signs: certificates by CN."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self._ca = (x509.CertificateBuilder().subject_name(_name("Vigil test district CA"))
                    .issuer_name(_name("Vigil test district CA")).public_key(self._key.public_key())
                    .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
                    .not_valid_after(now + dt.timedelta(days=2))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                    .sign(self._key, hashes.SHA256()))
        self.ca_cert = directory / "ca.crt"
        self.ca_cert.write_bytes(self._ca.public_bytes(serialization.Encoding.PEM))
        self.ca_key = directory / "ca.key"
        _write_key(self.ca_key, self._key)

    @classmethod
    def load(cls, directory: Path) -> DistrictPki:
        """The CA another process made in `directory` (the bench's hub child issues with it)."""
        pki = cls.__new__(cls)
        pki.dir, pki.ca_cert, pki.ca_key = directory, directory / "ca.crt", directory / "ca.key"
        key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("the district CA's key is not an EC key")
        pki._key = key
        pki._ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
        return pki

    def issue(self, cn: str, *, server_ips: tuple[str, ...] = (), server_names: tuple[str, ...] = ()) -> CertFiles:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(self._ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2)))
        if server_ips or server_names:
            sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(a)) for a in server_ips]
            sans += [x509.DNSName(n) for n in server_names]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            usage = ExtendedKeyUsageOID.SERVER_AUTH
        else:
            usage = ExtendedKeyUsageOID.CLIENT_AUTH
        cert = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False).sign(self._key, hashes.SHA256())
        files = CertFiles(self.dir / f"{cn}.crt", self.dir / f"{cn}.key")
        files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(files.key, key)
        return files


class HubBroker(Broker):
    """The district broker: one TLS listener on all addresses (the test's namespace holds only
    loopback and the veths), client certificates required, CN = user name, the hub's ACL."""

    def __init__(self, tmp: Path, port: int, pki: DistrictPki, sites: tuple[str, ...],
                 server_ips: tuple[str, ...]) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        super().__init__(tmp, port)
        server = pki.issue("district-broker", server_ips=("127.0.0.1", *server_ips), server_names=("localhost",))
        self.acl = self.dir / "acl"
        self.write_acl(sites)
        self.config.write_text("\n".join([
            "per_listener_settings false", "persistence true", f"persistence_location {self.dir}/",
            "autosave_interval 1", f"user {pwd.getpwuid(os.getuid()).pw_name}",
            "log_dest stderr", "log_type error", "log_type warning", "log_type notice",
            "max_queued_messages 100000",
            f"listener {port} 0.0.0.0", f"cafile {pki.ca_cert}", f"certfile {server.cert}",
            f"keyfile {server.key}", "require_certificate true", "use_identity_as_username true",
            "allow_anonymous false", f"acl_file {self.acl}", ""]))

    def write_acl(self, sites: tuple[str, ...]) -> None:
        self.acl.write_text(broker_acl(sites, HUB_MQTT_USER))


_INSTANCES = itertools.count(1)


class Netns:
    """A network namespace joined to the caller's by a veth pair: `hub_ip` on this side,
    `site_ip` inside. `cut()`/`restore()` take this side's end down and up."""

    def __init__(self, number: int) -> None:
        # Names and subnet unique per instance, not per site number: the kernel tears a deleted
        # namespace (and the veth in it) down asynchronously, so the next test's pair must not
        # need the same names while a loaded machine is still cleaning up the last one.
        uid = next(_INSTANCES)
        self.number = number
        self.name = f"vigil-{os.getpid()}-{uid}"
        self.hub_if, self.site_if = f"vh{uid}", f"vs{uid}"
        subnet = f"10.{17 + uid // 250}.{uid % 250}"
        self.hub_ip, self.site_ip = f"{subnet}.1", f"{subnet}.2"
        run = _run
        try:
            run("ip", "netns", "add", self.name)
            run("ip", "link", "add", self.hub_if, "type", "veth", "peer", "name", self.site_if)
            run("ip", "link", "set", self.site_if, "netns", self.name)
            run("ip", "addr", "add", f"{self.hub_ip}/24", "dev", self.hub_if)
            run("ip", "link", "set", self.hub_if, "up")
            self.exec("ip", "link", "set", "lo", "up")
            self.exec("ip", "addr", "add", f"{self.site_ip}/24", "dev", self.site_if)
            self.exec("ip", "link", "set", self.site_if, "up")
        except BaseException:
            self.delete()
            raise

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def exec(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(self.command(*args), input=stdin, check=True, capture_output=True, timeout=30)

    def cut(self) -> None:
        _run("ip", "link", "set", self.hub_if, "down")

    def restore(self) -> None:
        _run("ip", "link", "set", self.hub_if, "up")

    def delete(self) -> None:
        # the pair first (at once, with both ends), then the namespace
        subprocess.run(["ip", "link", "del", self.hub_if], check=False, capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], check=False, capture_output=True)


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


class SiteBroker:
    """An appliance's mosquitto inside its namespace: plain listeners on its loopback and on its
    veth address (what a daemon publishes to) and the bridge to the hub's broker
    (core.district.bridge_conf)."""

    PORT = 1883

    def __init__(self, tmp: Path, site: str, ns: Netns, pki: DistrictPki, hub_port: int) -> None:
        self.site, self.ns = site, ns
        self.dir = tmp / f"site-{site}"
        self.dir.mkdir(parents=True, exist_ok=True)
        cert = pki.issue(site)
        bridge = bridge_conf(BridgeSettings(site, ns.hub_ip, hub_port, str(pki.ca_cert), str(cert.cert),
                                            str(cert.key)))
        self.config = self.dir / "mosquitto.conf"
        self.config.write_text("\n".join([
            f"listener {self.PORT} 127.0.0.1",
            # the same port on the site's end of the veth: a daemon outside the namespace reaches it
            f"listener {self.PORT} {ns.site_ip}", "allow_anonymous true", "persistence true",
            f"persistence_location {self.dir}/", "autosave_interval 1",
            f"user {pwd.getpwuid(os.getuid()).pw_name}", "log_dest stderr", "log_type error", "log_type warning",
            "log_type notice", "", bridge]))
        self.log = self.dir / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.cert = cert

    def start(self) -> SiteBroker:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.ns.command("mosquitto", "-c", str(self.config)), stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"site mosquitto exited: {self.log.read_text()}")
            probe = subprocess.run(self.ns.command("mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.PORT),
                                                   "-t", "probe/start", "-m", "x"), capture_output=True, timeout=10)
            if probe.returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("site mosquitto did not start listening")

    def publish_lines(self, topic: str, lines: list[bytes]) -> None:
        """Each line a QoS 1 message on the site broker, in order, by one mosquitto_pub."""
        self.ns.exec("mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.PORT), "-q", "1", "-t", topic, "-l",
                     stdin=b"\n".join(lines) + b"\n")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def hub_keys(directory: Path, pki: DistrictPki, token_key: Ed25519PrivateKey | None = None) -> HubKeys:
    """The hub's keys as hub/keys.py lays them out, for a hub whose broker is a HubBroker."""
    client = pki.issue(HUB_MQTT_USER)
    https = pki.issue("hub-https", server_ips=("127.0.0.1",), server_names=("localhost",))
    return HubKeys(token_key=token_key or Ed25519PrivateKey.generate(), ca_cert=pki.ca_cert, ca_key=pki.ca_key,
                   https_cert=https.cert, https_key=https.key, broker_cert=directory / "unused.crt",
                   broker_key=directory / "unused.key", client_cert=client.cert, client_key=client.key)


def hub_env(directory: Path, pki: DistrictPki, broker_port: int, *, silent_after_s: float = 90.0,
            hub_id: str = "district", token_key: Ed25519PrivateKey | None = None) -> HubEnv:
    directory.mkdir(parents=True, exist_ok=True)
    config = HubConfig(hub_id=hub_id, name="Test district", data_dir=directory,
                       public_url="https://127.0.0.1:9443", broker_client_host="127.0.0.1",
                       broker_client_port=broker_port, silent_after_s=silent_after_s)
    return HubEnv(config, open_hub_db(config.db_path, time.time_ns()), hub_keys(directory, pki, token_key))


def enrol_site_row(env: HubEnv, site: str, name: str, url: str | None = None) -> None:
    """The row hub-core's enrolment leaves (what ingest looks at: enrolled, not removed)."""
    with env.db.transaction() as c:
        c.execute("INSERT INTO sites (id, name, url, enrolled_wall_ns) VALUES (?, ?, ?, ?)",
                  (site, name, url, time.time_ns()))
