"""The whole chain an appliance's events take to the district, each part real: the daemon's
publisher → the appliance's mosquitto, running the bridge configuration `vigil district enroll`
wrote → the district broker (`vigil hub broker-config`, TLS, the hub's ACL) → the hub's client
certificate reading `vigil/site-a/#`. While the district broker is down the appliance's events
wait in its own broker and arrive, in order, when it is back."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support.hub_proc import HubProcess
from tests.support.mosquitto import Broker
from tests.support.vigil_proc import run_vigil, wait_for
from tests.support.webapp import running_webapp

pytestmark = pytest.mark.slow


class HubBroker:
    """The district broker as the hub configures it."""

    def __init__(self, hub: HubProcess, tmp: Path) -> None:
        self.conf = Path(hub.cli("broker-config").stdout.strip())
        self.port = hub.broker_port
        self.log = tmp / "district-mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "the district broker did not listen"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class HubReader:
    """mosquitto_sub with the hub's client certificate, a persistent session (what arrives while it
    reconnects waits for it), collecting (topic, payload)."""

    def __init__(self, hub: HubProcess) -> None:
        keys = hub.data / "keys"
        self.args = ["mosquitto_sub", "-h", "localhost", "-p", str(hub.broker_port), "--cafile", str(hub.ca),
                     "--cert", str(keys / "hub-client.crt"), "--key", str(keys / "hub-client.key"), "-q", "1",
                     "-v", "-t", "vigil/#", "-c", "-i", "hub-test-reader", "-W", "300"]
        self.lines: list[tuple[str, str]] = []
        self.proc: subprocess.Popen[str] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        proc = self.proc
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            topic, _, payload = line.rstrip("\n").partition(" ")
            self.lines.append((topic, payload))

    def messages(self, kind: str) -> list[dict[str, object]]:
        return [json.loads(p) for t, p in list(self.lines) if t == f"vigil/site-a/{kind}"]

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def test_events_reach_the_hub_through_the_bridge_and_wait_out_an_outage(tmp_path: Path) -> None:
    for name in ("hub", "site", "local"):
        (tmp_path / name).mkdir()
    hub = HubProcess(tmp_path / "hub").start()
    conf_dir = tmp_path / "conf.d"
    local = Broker(tmp_path / "local", extra=(f"include_dir {conf_dir}",))  # as Debian's mosquitto.conf does
    district = HubBroker(hub, tmp_path)
    reader: HubReader | None = None
    try:
        code = hub.enrol_code("site-a")
        extra = (f'[district]\nbridge_conf_path = "{conf_dir / "vigil-district.conf"}"\nbroker_port = {local.port}\n'
                 "health_interval_s = 1\n")
        with running_webapp(tmp_path / "site", extra) as web:
            enrolled = run_vigil("district", "enroll", "--hub", hub.url, "--code", code, "--config", str(web.config))
            assert enrolled.returncode == 0, enrolled.stderr
            district = HubBroker(hub, tmp_path)  # the ACL now names site-a
            district.start()
            reader = HubReader(hub)
            local.start()  # mosquitto reads its bridges at start (`systemctl restart mosquitto`)
            wait_for(lambda: bool(reader and reader.messages("health") and reader.messages("inventory")), 30,
                     "health and inventory at the hub")
            assert ("vigil/site-a/bridge", "1") in reader.lines
            assert reader.messages("inventory")[-1]["site"] == "site-a"
            # the district broker goes away; the cameras go down meanwhile; it comes back
            district.stop()
            reader.close()
            web.cams.stop()
            wait_for(lambda: web.json("GET", "/api/health")["cameras"]["up"] == 0, 30, "the cameras to be down")
            time.sleep(2)  # the publisher looks every second: the camera messages are in the local broker
            assert not reader.messages("camera")
            district.start()
            reader.start()
            wait_for(lambda: len(reader.messages("camera")) >= 3 if reader else False, 60,
                     "the queued camera messages")
            cameras = reader.messages("camera")
            assert {str(m["data"]["camera"]) for m in cameras} == {"hs-east", "hs-gym", "ms-front"}  # type: ignore[index]
            seqs = [int(str(m["seq"])) for m in cameras]
            assert seqs == sorted(seqs)  # in order
    finally:
        if reader is not None:
            reader.close()
        local.stop()
        district.stop()
        hub.stop()
