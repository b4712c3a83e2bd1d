"""Camera setup through the running daemon (`vigil run`, HTTPS): scan finds the simulated ONVIF
camera, the probe proposes its streams with what they really send, the password never reaches the
answer or the log, and an address outside probe_networks is refused with nothing sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.camsim import CameraServer
from tests.support.http_call import call, free_port
from tests.support.vigil_proc import VigilProcess, run_vigil, vigil_stdin, wait_for, write_config
from vigil.sim.onvif_device import OnvifDevice, start_device

CAMERA_PASSWORD = "onvif-e2e-pw"


class Daemon:
    def __init__(self, base: str, token: str, ca: Path, proc: VigilProcess) -> None:
        self.base, self.token, self.ca, self.proc = base, token, ca, proc

    async def post(self, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
        status, raw, _ = await asyncio.to_thread(
            call, self.base + path, "POST", json.dumps(body).encode(),
            {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}, cafile=self.ca)
        return status, json.loads(raw)


@pytest.fixture(scope="module")
def cams() -> Iterator[CameraServer]:
    with CameraServer("name=main,width=640,height=360,fps=15,gop=15", "name=sub,width=320,height=180,fps=10") as c:
        yield c


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, cams: CameraServer) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("setup")
    port = free_port()
    config = write_config(tmp, {"hs-cam": cams.url("main")},
                          f'[http]\nlisten = "127.0.0.1:{port}"\n[camera_setup]\nprobe_networks = ["127.0.0.1/32"]')
    added = vigil_stdin("setup e2e installer password\n", "user", "add", "fitter", "--role", "installer",
                        "--password-stdin", "--config", str(config))
    assert added.returncode == 0, added.stderr
    token = run_vigil("token", "create", "fitter", "--config", str(config)).stdout.strip()
    proc = VigilProcess(config)
    try:
        ca = tmp / "data" / "tls" / "cert.pem"
        wait_for(ca.exists, 20, "the certificate")
        base = f"https://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return call(base + "/api/health", headers={"Authorization": f"Bearer {token}"}, cafile=ca)[0] == 200
            except OSError:
                return False

        wait_for(up, 20, "the API")
        yield Daemon(base, token, ca, proc)
        assert proc.terminate() == 0, proc.log
    finally:
        proc.close()
    assert CAMERA_PASSWORD not in proc.log


async def test_scan_then_probe_through_the_daemon(daemon: Daemon, cams: CameraServer) -> None:
    device = OnvifDevice("hikvision", "admin", CAMERA_PASSWORD,
                         {"Profile_1": cams.url("main"), "Profile_2": cams.url("sub")})
    runner, port = await start_device(device)
    try:
        status, found = await daemon.post("/api/setup/scan", {"range": "127.0.0.1", "ports": [port]})
        assert status == 200, found
        devices = found["devices"]
        assert isinstance(devices, list) and [d["address"] for d in devices] == [f"127.0.0.1:{port}"]
        status, result = await daemon.post("/api/setup/probe", {"xaddr": devices[0]["xaddr"], "username": "admin",
                                                                "password": CAMERA_PASSWORD})
        assert status == 200, result
        assert CAMERA_PASSWORD not in json.dumps(result)
        proposal = result["proposal"]
        assert isinstance(proposal, dict)
        assert (proposal["url"], proposal["substream_url"]) == (cams.url("main"), cams.url("sub"))
        assert result["media2"] is True
        # hs-cam records this device's main stream already: saying so keeps it from being recorded twice
        warnings = result["warnings"]
        assert isinstance(warnings, list)
        recorded = [w for w in warnings if "already configured" in w]
        assert recorded == [f"the stream {cams.url('main')} is already configured: camera hs-cam records it"]
        profiles = result["profiles"]
        assert isinstance(profiles, list) and profiles[0]["received"]["codec"] == "h264"
        status, problem = await daemon.post("/api/setup/probe", {"address": f"127.0.0.1:{port}",
                                                                 "username": "admin", "password": "wrong"})
        assert (status, problem["type"]) == (422, "onvif-unauthorized")
    finally:
        await runner.cleanup()


async def test_outside_probe_networks_nothing_is_sent(daemon: Daemon) -> None:
    device = OnvifDevice("axis")
    runner, port = await start_device(device, host="127.0.0.2")  # 127.0.0.2 is on lo in the test namespace
    try:
        # only 127.0.0.1/32 is listed: 127.0.0.2 is refused before any packet, and so is a scan of it
        status, problem = await daemon.post("/api/setup/probe", {"address": f"127.0.0.2:{port}",
                                                                 "username": "admin", "password": "secret"})
        assert (status, problem["type"]) == (403, "address-not-allowed"), problem
        status, problem = await daemon.post("/api/setup/scan", {"range": "127.0.0.1-2", "ports": [port]})
        assert (status, problem["type"]) == (403, "address-not-allowed"), problem
    finally:
        await runner.cleanup()
    assert device.requests_seen == 0
