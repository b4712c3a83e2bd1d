"""`vigil hub broker-config` drives a real mosquitto: TLS with certificates from the district CA
(CN = the client's user name), the hub's ACL (each site writes only vigil/<site>/#, the hub reads
all), and after `vigil hub site remove` the hub's SIGHUP makes the broker refuse the removed site."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.hub_proc import Enrolled, HubProcess, enrol


class TlsSubscriber:
    """mosquitto_sub with a certificate on vigil/#, collecting (topic, payload) lines."""

    def __init__(self, hub: HubProcess, cert: Path, key: Path) -> None:
        self.proc = subprocess.Popen(
            ["mosquitto_sub", "-h", "localhost", "-p", str(hub.broker_port), "--cafile", str(hub.ca),
             "--cert", str(cert), "--key", str(key), "-q", "1", "-v", "-t", "vigil/#", "-W", "300"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[tuple[str, str]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            topic, _, payload = line.rstrip("\n").partition(" ")
            self.lines.append((topic, payload))

    def wait_for(self, topic: str, payload: str, publish: Callable[[str, str], None], timeout_s: float = 30) -> None:
        """Publish until it arrives (the subscription may not be in place yet)."""
        deadline = time.monotonic() + timeout_s
        while (topic, payload) not in self.lines:
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic} {payload} not received; got {self.lines}")
            publish(topic, payload)
            time.sleep(0.3)

    def close(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=10)
        return err


class Connected:
    """A site's long-lived connection (as its bridge keeps one): paho with the site's certificate."""

    def __init__(self, hub: HubProcess, site: Enrolled, client_id: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.tls_set(ca_certs=str(site.ca), certfile=str(site.cert), keyfile=str(site.key))
        self.client.connect("localhost", hub.broker_port)
        self.client.loop_start()

    def publish(self, topic: str, payload: str) -> None:
        """QoS 1; a broker that dropped the connection meanwhile leaves it unsent (that is fine too)."""
        info = self.client.publish(topic, payload, qos=1)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            info.wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Publish:
    def __init__(self, hub: HubProcess, site: Enrolled) -> None:
        self.hub, self.site = hub, site

    def __call__(self, topic: str, payload: str) -> None:
        done = subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", str(self.hub.broker_port), "--cafile",
                               str(self.site.ca), "--cert", str(self.site.cert), "--key", str(self.site.key), "-q",
                               "1", "-t", topic, "-m", payload], timeout=20, capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, done.stderr


@pytest.fixture
def district(tmp_path: Path) -> Iterator[tuple[HubProcess, dict[str, Enrolled]]]:
    """A running hub with sites a and b enrolled."""
    hub = HubProcess(tmp_path)
    codes = {site: hub.enrol_code(site) for site in ("a", "b")}
    hub.start()
    try:
        yield hub, {site: enrol(hub, code, site, tmp_path / "sites") for site, code in codes.items()}
    finally:
        hub.stop()


def test_the_district_broker_enforces_the_hubs_acl(district: tuple[HubProcess, dict[str, Enrolled]],
                                                   tmp_path: Path) -> None:
    hub, sites = district
    conf = Path(hub.cli("broker-config").stdout.strip())
    assert conf == hub.data / "broker" / "mosquitto.conf"
    text = conf.read_text()
    for line in ("require_certificate true", "use_identity_as_username true", f"listener {hub.broker_port}",
                 f"acl_file {hub.data / 'broker' / 'acl'}", f"pid_file {hub.broker_pid_file}"):
        assert line in text.splitlines(), line
    log_path = tmp_path / "mosquitto.log"
    with log_path.open("wb") as log:
        broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while True:
        assert broker.poll() is None, log_path.read_text()
        try:
            socket.create_connection(("127.0.0.1", hub.broker_port), 0.5).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "mosquitto did not listen"
            time.sleep(0.1)
    a, b = Publish(hub, sites["a"]), Publish(hub, sites["b"])
    keys = hub.data / "keys"
    subscriber = TlsSubscriber(hub, keys / "hub-client.crt", keys / "hub-client.key")
    try:
        subscriber.wait_for("vigil/a/health", "a-1", a)  # the hub's client receives site a
        bridge = Connected(hub, sites["a"], "site-a")  # stays connected across the removal
        subscriber.wait_for("vigil/a/health", "a-bridge-1", bridge.publish)
        a("vigil/b/health", "forged-by-a")  # a may not write b's topics
        subscriber.wait_for("vigil/b/health", "b-1", b)
        assert ("vigil/b/health", "forged-by-a") not in subscriber.lines
        # a client without a certificate from the district CA gets nowhere
        anonymous = subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", str(hub.broker_port), "--cafile",
                                    str(hub.ca), "-q", "1", "-t", "vigil/a/health", "-m", "anon"],
                                   capture_output=True, timeout=20, check=False)
        assert anonymous.returncode != 0

        hub.cli("site", "remove", "a")
        deadline = time.monotonic() + 20
        while b"Reloading config" not in log_path.read_bytes():
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        a("vigil/a/health", "a-after-removal")
        bridge.publish("vigil/a/health", "a-bridge-after-removal")
        subscriber.wait_for("vigil/b/health", "b-2", b)
        assert {p for t, p in subscriber.lines if t == "vigil/a/health"} == {"a-1", "a-bridge-1"}
        bridge.close()
    finally:
        subscriber.close()
        broker.terminate()
        broker.wait(10)
