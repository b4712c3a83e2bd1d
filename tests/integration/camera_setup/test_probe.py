"""Probing simulated ONVIF devices (recorded Axis, MOBOTIX and Hikvision-style answers) whose
streams are the project's simulated RTSP cameras: the right profiles and proposal, what the
streams really send, and each failure told apart."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import tracemalloc
from collections.abc import Awaitable, Callable

import pytest
import zeep.exceptions
import zeep.loader

from tests.integration.camera_setup.conftest import LOOPBACK, Running, streams_for
from tests.support.camsim import CameraServer
from vigil.camera_setup.model import ProbeResult
from vigil.camera_setup.onvif_lib import DEFAULT_SETTINGS
from vigil.camera_setup.probe import ProbeTarget, probe_device
from vigil.config.model import CameraSetupConfig
from vigil.core.errors import CameraSetupError, http_status
from vigil.core.probe_networks import DEFAULT_PROBE_NETWORKS, IPNetwork, parse_networks
from vigil.sim.onvif_device import _BOMB, FIXTURES, OnvifDevice

FIXTURES_HIK = FIXTURES / "hikvision"

Start = Callable[[OnvifDevice], Awaitable[Running]]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


CAMERA_PASSWORD = "secret"


async def run_probe(running: Running, password: str = CAMERA_PASSWORD, networks: tuple[IPNetwork, ...] = LOOPBACK,
                    host: str = "127.0.0.1") -> ProbeResult:
    # the product's default bound: a shared test stream starts on demand, and a loaded CI machine
    # once took longer than a tighter 3 s to give its first keyframe
    return await probe_device(ProbeTarget(host, running.port, "admin", password), networks,
                              CameraSetupConfig().probe_timeout_s, now)


async def expect(kind: str, status: int, probe: Awaitable[ProbeResult]) -> CameraSetupError:
    with pytest.raises(CameraSetupError) as caught:
        await probe
    assert (caught.value.problem_type, http_status(caught.value)) == (kind, status), str(caught.value)
    return caught.value


async def test_axis_media1_profiles_streams_and_proposal(cams: CameraServer, device_factory: Start) -> None:
    running = await device_factory(OnvifDevice("axis", streams=streams_for(cams)))
    started = time.monotonic()
    result = await run_probe(running)
    assert time.monotonic() - started < 6  # the bench measures it; this only catches a hang
    assert (result.device.manufacturer, result.device.model, result.device.firmware) == ("AXIS", "P3245-V", "10.12.114")
    assert result.media2 is False and result.backchannel is True
    assert result.clock.skew_s is not None and abs(result.clock.skew_s) < 3 and result.clock.warning is None
    main, sub = result.profiles
    assert (main.token, main.encoding, main.width, main.height, main.fps) == ("profile_1_h264", "H264", 1920, 1080, 30)
    assert main.received is not None and (main.received.codec, main.received.width, main.received.height) == (
        "h264", 640, 360)
    assert main.received.fps == pytest.approx(15, abs=1) and main.received.gop_frames == 15
    assert main.received.bframes is False and main.live.ok
    assert sub.received is not None and sub.received.codec == "hevc" and (sub.received.width, sub.received.height) \
        == (320, 180)
    assert not sub.live.ok and "H.265" in sub.live.note
    assert main.stream_url == cams.url("main") and main.snapshot_url is not None
    assert result.proposal is not None
    assert (result.proposal.url, result.proposal.substream_url, result.proposal.name, result.proposal.username) == (
        cams.url("main"), cams.url("sub"), "AXIS P3245-V", "admin")
    assert result.snapshot_jpeg is not None and result.snapshot_jpeg[:2] == b"\xff\xd8"
    assert any("says 1920x1080 but sends 640x360" in w for w in result.warnings)


async def test_mobotix_without_getservices_falls_back_to_capabilities(cams: CameraServer,
                                                                      device_factory: Start) -> None:
    running = await device_factory(OnvifDevice("mobotix", streams=streams_for(cams)))
    result = await run_probe(running)
    assert result.device.manufacturer == "MOBOTIX AG" and result.backchannel is False and result.media2 is False
    assert "GetServices" in running.device.operations and "GetCapabilities" in running.device.operations
    h264, jpeg = result.profiles
    assert h264.received is not None and h264.received.codec == "h264"
    assert jpeg.encoding == "JPEG" and jpeg.received is None and not jpeg.live.ok
    assert result.proposal is not None and result.proposal.substream_url is None
    assert any("substream" in w for w in result.warnings)


async def test_hikvision_media2_device(cams: CameraServer, device_factory: Start) -> None:
    """Media2 says what Media1 cannot (H.265); what the streams send is reported as received."""
    running = await device_factory(OnvifDevice("hikvision", streams=streams_for(cams, "bf", "main")))
    result = await run_probe(running)
    assert result.media2 is True and result.device.manufacturer == "HIKVISION"
    assert "GetProfiles" not in running.device.operations and "Media2_GetProfiles" in running.device.operations
    main, sub = result.profiles
    assert (main.token, main.encoding, main.width) == ("Profile_1", "H265", 3840)
    assert any("main stream is H.265" in w for w in result.warnings)
    assert main.received is not None and main.received.bframes is True and main.received.codec == "h264"
    assert any("says H265 but sends h264" in w for w in result.warnings)
    assert not main.live.ok and "B-frames" in main.live.note and "substream will" in main.live.note
    assert sub.received is not None and sub.live.ok
    assert result.proposal is not None and result.proposal.substream_url == cams.url("main")


async def test_media2_faults_fall_back_to_media1(cams: CameraServer, device_factory: Start) -> None:
    running = await device_factory(OnvifDevice("hikvision", streams=streams_for(cams)))
    (FIXTURES_HIK / "Media2_GetProfiles.xml").read_text()  # exists: the fallback below is the stub's choice
    running.device.media2_broken = True
    result = await run_probe(running)
    assert [p.encoding for p in result.profiles] == ["H264", "H264"]  # Media1's answer
    assert any("Media2 did not answer" in w for w in result.warnings)


async def test_wrong_onvif_password(cams: CameraServer, device_factory: Start) -> None:
    running = await device_factory(OnvifDevice("axis", streams=streams_for(cams)))
    error = await expect("onvif-unauthorized", 422, run_probe(running, password="wrong"))
    assert "wrong" not in str(error) and "secret" not in str(error)


async def test_clock_skew_is_reported_and_explains_a_refused_password(cams: CameraServer,
                                                                     device_factory: Start) -> None:
    running = await device_factory(OnvifDevice("axis", streams=streams_for(cams), clock_offset_s=30))
    result = await run_probe(running)  # 30 s off: the device still takes the token, the probe warns
    assert result.clock.skew_s == pytest.approx(30, abs=2) and result.clock.warning is not None
    assert "NTP" in result.clock.warning and result.clock.warning in result.warnings
    running.device.clock_offset_s = -600  # 10 minutes behind: the right password is refused
    error = await expect("onvif-unauthorized", 422, run_probe(running))
    behind = re.search(r"(\d+) s behind", str(error))  # 600 give or take the probe's own round trips
    assert behind is not None and abs(int(behind.group(1)) - 600) <= 2, str(error)


async def test_http_401_is_onvif_unauthorized(cams: CameraServer, device_factory: Start) -> None:
    running = await device_factory(OnvifDevice("axis", misbehave="http-401"))
    await expect("onvif-unauthorized", 422, run_probe(running))


async def test_rtsp_401_is_told_from_onvif_401(locked_cams: CameraServer, device_factory: Start) -> None:
    running = await device_factory(OnvifDevice("axis", password="other", streams={
        "profile_1_h264": locked_cams.url("locked"), "profile_2_h264": locked_cams.url("locked")}))
    await expect("rtsp-unauthorized", 422, run_probe(running, password="other"))
    # the same stream with the password it wants plays
    running.device.password = "secret"
    result = await run_probe(running, password="secret")
    assert result.profiles[0].received is not None


@pytest.mark.parametrize(("misbehave", "kind"), [("fault", "soap-fault"), ("malformed", "malformed-xml"),
                                                 ("no-soap", "not-onvif"), ("bomb", "malformed-xml")])
async def test_device_faults(device_factory: Start, misbehave: str, kind: str) -> None:
    running = await device_factory(OnvifDevice("axis", misbehave=misbehave))
    await expect(kind, 502, run_probe(running))


async def test_xml_bomb_is_refused_quickly_with_bounded_memory(device_factory: Start) -> None:
    running = await device_factory(OnvifDevice("axis", misbehave="bomb"))
    tracemalloc.start()
    started = time.monotonic()
    try:
        await expect("malformed-xml", 502, run_probe(running))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 2 and peak < 64 << 20
    # and zeep itself, as configured here, refuses it too (defence in depth)
    with pytest.raises(zeep.exceptions.DTDForbidden):
        zeep.loader.parse_xml(_BOMB, None, settings=DEFAULT_SETTINGS)


async def test_unreachable(unused_tcp_port: int) -> None:
    target = ProbeTarget("127.0.0.1", unused_tcp_port, "admin", "secret")
    await expect("unreachable", 502, probe_device(target, LOOPBACK, 2.0, now))


async def test_stream_that_is_not_video(device_factory: Start) -> None:
    device = OnvifDevice("axis")
    running = await device_factory(device)
    not_video = f"rtsp://127.0.0.1:{running.port}/not-a-stream"  # an HTTP server, not RTSP
    device.streams = {"profile_1_h264": not_video, "profile_2_h264": not_video}
    await expect("not-video", 502, run_probe(running))


async def test_address_outside_probe_networks_sends_nothing(device_factory: Start) -> None:
    running = await device_factory(OnvifDevice("axis"))
    await expect("address-not-allowed", 403, run_probe(running, networks=parse_networks(DEFAULT_PROBE_NETWORKS)))
    await expect("address-not-allowed", 403, run_probe(running, networks=parse_networks(DEFAULT_PROBE_NETWORKS),
                                                       host="localhost"))
    assert running.device.requests_seen == 0


async def test_device_given_addresses_are_checked_too(cams: CameraServer, device_factory: Start) -> None:
    """A device announcing its media service (or its streams) elsewhere cannot lead the probe there."""
    running = await device_factory(OnvifDevice("axis", service_base="http://10.66.0.1:80", streams=streams_for(cams)))
    await expect("address-not-allowed", 403, run_probe(running))
    running.device.service_base = None
    running.device.streams = {"profile_1_h264": "rtsp://10.66.0.1/main", "profile_2_h264": cams.url("sub")}
    result = await run_probe(running)
    assert result.profiles[0].received is None and "probe_networks" in (result.profiles[0].problem or "")


async def test_probes_do_not_block_the_loop(cams: CameraServer, device_factory: Start) -> None:
    running = await device_factory(OnvifDevice("axis", streams=streams_for(cams)))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    await run_probe(running)
    elapsed = time.monotonic() - started
    task.cancel()
    assert ticks >= elapsed / 0.05 * 0.5  # streams are read on threads
