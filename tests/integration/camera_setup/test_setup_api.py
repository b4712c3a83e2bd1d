"""The camera setup routes over HTTP: JSON as the OpenAPI document says, problem types, the
audit entry without the password, the probe network policy from the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.camera_setup.conftest import Running, streams_for
from tests.support.api_harness import CONFIG, Api, api, index, password_hash
from tests.support.camsim import CameraServer
from vigil.config import Config, parse_config
from vigil.sim.onvif_device import OnvifDevice

__all__ = ["api", "index", "password_hash"]


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    networks = getattr(request, "param", '["127.0.0.0/8"]')
    text = CONFIG.format(path=tmp_path / "data") + f"\n[camera_setup]\nprobe_networks = {networks}\n"
    return parse_config(text, tmp_path / "vigil.toml")


async def test_probe_answers_json_and_audits_without_the_password(api: Api, cams: CameraServer,
                                                                   device_factory: object) -> None:
    running: Running = await device_factory(OnvifDevice("axis", streams=streams_for(cams)))  # type: ignore[operator]
    response = await api.client.post("/api/setup/probe", headers=api.auth("installer"), json={
        "address": f"127.0.0.1:{running.port}", "username": "admin", "password": "secret"})
    body = await response.json()
    assert response.status == 200, body
    assert body["proposal"]["url"] == cams.url("main") and body["snapshot_jpeg_base64"].startswith("/9j/")
    assert body["profiles"][0]["received"]["codec"] == "h264" and body["profiles"][0]["live"]["ok"] is True
    assert "secret" not in await response.text()
    entries = api.services.env.audit.entries(action="camera_setup.probe")
    assert [(e.actor, e.outcome) for e in entries] == [("user:installer", "ok")]
    assert "secret" not in repr(entries)


async def test_wrong_password_is_a_typed_problem_and_audited(api: Api, device_factory: object) -> None:
    running: Running = await device_factory(OnvifDevice("axis"))  # type: ignore[operator]
    response = await api.client.post("/api/setup/probe", headers=api.auth("district"), json={
        "xaddr": f"http://127.0.0.1:{running.port}/onvif/device_service", "username": "admin",
        "password": "hunter2"})
    body = await response.json()
    assert (response.status, body["type"], response.content_type) == (422, "onvif-unauthorized",
                                                                      "application/problem+json")
    assert "hunter2" not in await response.text()
    entries = api.services.env.audit.entries(action="camera_setup.probe")
    assert [e.outcome for e in entries] == ["failed"] and "hunter2" not in repr(entries)


@pytest.mark.parametrize("config", ['["10.0.0.0/8"]'], indirect=True)
async def test_probe_outside_probe_networks_is_403_and_sends_nothing(api: Api, device_factory: object) -> None:
    running: Running = await device_factory(OnvifDevice("axis"))  # type: ignore[operator]
    response = await api.client.post("/api/setup/probe", headers=api.auth("installer"), json={
        "address": f"127.0.0.1:{running.port}", "username": "admin", "password": "secret"})
    body = await response.json()
    assert (response.status, body["type"]) == (403, "address-not-allowed")
    assert running.device.requests_seen == 0


async def test_scan_finds_the_devices(api: Api, device_factory: object, unused_tcp_port: int) -> None:
    first: Running = await device_factory(OnvifDevice("axis"))  # type: ignore[operator]
    second: Running = await device_factory(OnvifDevice("hikvision", misbehave="no-soap"))  # type: ignore[operator]
    response = await api.client.post("/api/setup/scan", headers=api.auth("hs-admin"), json={
        "range": "127.0.0.1", "ports": [first.port, second.port, unused_tcp_port]})
    body = await response.json()
    assert response.status == 200, body
    assert [d["address"] for d in body["devices"]] == [f"127.0.0.1:{first.port}"]
    assert body["devices"][0]["xaddr"] == f"http://127.0.0.1:{first.port}/onvif/device_service"
    assert body["devices"][0]["configured_camera"] == "hs-cam"  # the harness's hs-cam streams from 127.0.0.1
    assert first.device.operations == ["GetSystemDateAndTime"]  # pre-auth only: no credentials sent anywhere


async def test_bad_input_is_400(api: Api) -> None:
    for path, body in (("/api/setup/scan", {"range": "10.0.0.0/8"}), ("/api/setup/probe", {}),
                       ("/api/setup/discover", {"timeout_s": 60}), ("/api/setup/probe", {"address": "a b"}),
                       ("/api/setup/probe", {"xaddr": "https://10.0.0.5/onvif/device_service"}),
                       ("/api/setup/probe", {"address": "10.0.0.5", "password": "no user"})):
        response = await api.client.post(path, headers=api.auth("installer"), json=body)
        assert response.status == 400, (path, body, await response.text())


async def test_viewers_may_not_set_up_cameras(api: Api) -> None:
    response = await api.client.post("/api/setup/scan", headers=api.auth("hs-viewer"), json={"range": "127.0.0.1"})
    assert response.status == 403


async def test_discover_answers_and_is_audited(api: Api) -> None:
    """Here (no multicast route in the test namespace) the Probe cannot leave: an empty list, not an error."""
    response = await api.client.post("/api/setup/discover", headers=api.auth("installer"), json={"timeout_s": 1})
    assert response.status == 200 and await response.json() == {"devices": []}
    entries = api.services.env.audit.entries(action="camera_setup.discover")
    assert [(e.actor, e.outcome) for e in entries] == [("user:installer", "ok")]
