"""The ONVIF backchannel against the simulated loudspeaker (vigil.sim.backchannel_camera) on
loopback: what the device hears, and each way it can refuse or fail."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from pathlib import Path

import pytest

from tests.support.g711_tone import peak_hz, tone
from tests.support.talk_device import describe_without_backchannel, send_until_lost
from vigil.config import CameraConfig
from vigil.core.camera_modes import TalkPath
from vigil.core.errors import TalkDeviceError, TalkUnsupportedError
from vigil.core.media import AudioCodec
from vigil.intercom.device import open_talk
from vigil.sim.backchannel_camera import BackchannelCamera

TONE_HZ = 440.0
SECONDS = 3.0
PACKET_BYTES = 160  # 20 ms, as the browser's microphone delivers it


def _camera(device: BackchannelCamera, user: str | None = None, password: str | None = None) -> CameraConfig:
    return CameraConfig(
        id="door", building="main", name="Front door", url="rtsp://127.0.0.1:1/video",
        username=user, password=password, talk=TalkPath.ONVIF, talk_url=device.url,
    )


async def _talk(sink_codec_source: CameraConfig, seconds: float) -> tuple[AudioCodec, int]:
    sink = await open_talk(sink_codec_source, timeout_s=5.0)
    audio = tone(TONE_HZ, seconds, sink.codec)
    try:
        for i in range(0, len(audio), PACKET_BYTES):
            await sink.send(audio[i : i + PACKET_BYTES])
    finally:
        await sink.aclose()
    return sink.codec, len(audio)


@pytest.mark.parametrize(("codec", "fault"), [("pcmu", None), ("pcma", None), ("pcmu", "stale")])
async def test_a_tone_reaches_the_loudspeaker(codec: str, fault: str | None) -> None:
    """Digest sign-in; `stale`: the camera's nonce expires between DESCRIBE and SETUP."""
    async with BackchannelCamera(codec=codec, auth=("admin", "s3cret"), fault=fault) as device:
        sent_codec, sent_bytes = await _talk(_camera(device, "admin", "s3cret"), SECONDS)
        await asyncio.sleep(0.1)
        assert sent_codec is (AudioCodec.PCMU if codec == "pcmu" else AudioCodec.PCMA)
        assert device.methods[-1] == "TEARDOWN" and device.teardowns == 1
    heard = device.payload()
    assert abs(len(heard) / 8000 - SECONDS) <= 0.1 * SECONDS
    assert len(heard) == sent_bytes
    assert abs(peak_hz(heard, sent_codec) - TONE_HZ) <= 0.02 * TONE_HZ
    packets = device.received
    assert {p.payload_type for p in packets} == {0 if codec == "pcmu" else 8}
    assert len({p.ssrc for p in packets}) == 1
    assert all((b.seq - a.seq) % 65536 == 1 for a, b in itertools.pairwise(packets))
    assert all((b.timestamp - a.timestamp) % 2**32 == 160 for a, b in itertools.pairwise(packets))
    assert packets[0].marker and not any(p.marker for p in packets[1:])


@pytest.mark.parametrize(
    ("device", "error", "match"),
    [
        (BackchannelCamera(fault="551"), TalkUnsupportedError, "551 Option not supported"),
        (BackchannelCamera(fault="no-backchannel"), TalkUnsupportedError, "no audio backchannel"),
        (BackchannelCamera(codec="g726"), TalkUnsupportedError, "G726-32/8000"),
        (BackchannelCamera(auth=("admin", "s3cret")), TalkDeviceError, "refused the credentials"),
    ],
    ids=["551", "no-backchannel", "g726", "wrong-password"],
)
async def test_refusals(device: BackchannelCamera, error: type[Exception], match: str) -> None:
    async with device:
        with pytest.raises(error, match=match):
            await open_talk(_camera(device, "admin", "wrong"), timeout_s=5.0)
        assert device.received == [] and "PLAY" not in device.methods


async def test_no_username_for_a_camera_that_asks_is_a_device_error() -> None:
    async with BackchannelCamera(auth=("admin", "s3cret")) as device:
        with pytest.raises(TalkDeviceError, match="no username"):
            await open_talk(_camera(device), timeout_s=5.0)


async def test_no_camera_and_a_silent_camera_are_device_errors() -> None:
    async with BackchannelCamera() as device:
        pass  # its port is closed now
    with pytest.raises(TalkDeviceError, match="cannot reach"):
        await open_talk(_camera(device), timeout_s=2.0)

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, never answers
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    camera = CameraConfig(id="x", building="b", name="x", url=f"rtsp://127.0.0.1:{port}/", talk=TalkPath.ONVIF)
    async with server:
        with pytest.raises(TalkDeviceError, match=r"within 0\.5 s"):
            async with asyncio.timeout(5):
                await open_talk(camera, timeout_s=0.5)


async def test_a_camera_that_drops_mid_talk_loses_the_session() -> None:
    async with BackchannelCamera(fault="drop=10") as device:
        sink = await open_talk(_camera(device), timeout_s=2.0)
        audio = tone(TONE_HZ, 2.0, sink.codec)
        with pytest.raises(TalkDeviceError, match="closed the talk connection"):
            async with asyncio.timeout(10):
                for i in range(0, len(audio), PACKET_BYTES):
                    await sink.send(audio[i : i + PACKET_BYTES])
                    await asyncio.sleep(0.005)
        assert sink.lost == "the camera closed the talk connection"
        async with asyncio.timeout(5):
            await sink.aclose()
        assert len(device.received) == 10 and device.teardowns == 0


async def test_keepalive_within_the_session_timeout() -> None:
    async with BackchannelCamera(session_timeout_s=1) as device:
        sink = await open_talk(_camera(device), timeout_s=2.0)
        await asyncio.sleep(2.3)  # 1 s timeout: a keep-alive every 0.5 s, at least 1 s apart (the floor)
        assert sink.lost is None
        await sink.aclose()
        assert device.keepalives >= 2
        assert device.methods.count("GET_PARAMETER") == device.keepalives


async def test_without_the_require_header_there_is_no_backchannel(tmp_path: Path) -> None:
    """The sim behaves like a camera: the backchannel only for clients that ask (FFmpeg does not)."""
    async with BackchannelCamera(dump=tmp_path / "heard.jsonl") as device:
        sdp = await describe_without_backchannel(device.url, device.port)
        assert b"sendonly" not in sdp and b"recvonly" in sdp
        sink = await open_talk(_camera(device), timeout_s=2.0)
        await sink.send(tone(TONE_HZ, 0.1, sink.codec))
        await sink.aclose()
    lines = [json.loads(line) for line in (tmp_path / "heard.jsonl").read_text().splitlines()]
    assert len(lines) == 5 and bytes.fromhex(lines[0]["payload"]) == tone(TONE_HZ, 0.1, sink.codec)[:160]


async def test_basic_auth_with_credentials_in_the_url() -> None:
    async with BackchannelCamera(auth=("viewer", "pa:ss word"), auth_scheme="basic") as device:
        camera = _camera(device)
        camera = CameraConfig(
            id=camera.id, building=camera.building, name=camera.name, url=camera.url, talk=TalkPath.ONVIF,
            talk_url=device.url.replace("rtsp://", "rtsp://viewer:pa%3Ass%20word@"),
        )
        sink = await open_talk(camera, timeout_s=2.0)
        await sink.send(tone(TONE_HZ, 0.1, sink.codec))
        await sink.aclose()
        assert len(device.payload()) == 800


async def test_a_camera_that_stops_reading_loses_the_session() -> None:
    async with BackchannelCamera(fault="stall") as device:
        sink = await open_talk(_camera(device), timeout_s=1.0)
        audio = tone(TONE_HZ, 2.0, sink.codec)  # 16000 bytes a send: fills loopback's buffers soon
        with pytest.raises(TalkDeviceError, match="stopped taking audio"):
            async with asyncio.timeout(30):
                while True:
                    await sink.send(audio)
        assert sink.lost
        async with asyncio.timeout(5):
            await sink.aclose()


async def test_the_password_is_in_no_error_and_no_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    password = "hunter2-secret"
    async with BackchannelCamera(auth=("admin", "other"), fault="drop=2") as device:
        with pytest.raises(TalkDeviceError) as refused:
            await open_talk(_camera(device, "admin", password), timeout_s=2.0)
    async with BackchannelCamera(fault="drop=2") as device:
        sink = await open_talk(_camera(device, "admin", password), timeout_s=2.0)
        dropped = await send_until_lost(sink, TONE_HZ)
        await sink.aclose()
    assert sink.lost and "lost" in caplog.text
    for text in (str(refused.value), str(dropped), caplog.text, repr(sink.__dict__)):
        assert password not in text


@pytest.mark.parametrize("url", ["http://cam/", "rtsp://cam:99999/", "rtsp:///path"])
async def test_a_talk_url_that_is_no_rtsp_url_is_unsupported(url: str) -> None:
    camera = CameraConfig(id="x", building="b", name="x", url="rtsp://cam/", talk=TalkPath.ONVIF, talk_url=url)
    with pytest.raises(TalkUnsupportedError, match="rtsp://"):
        await open_talk(camera, timeout_s=1.0)


async def test_a_camera_that_forgets_the_session_loses_it() -> None:
    async with BackchannelCamera(session_timeout_s=1, fault="expire") as device:
        sink = await open_talk(_camera(device), timeout_s=2.0)
        async with asyncio.timeout(5):
            while sink.lost is None:
                await sink.send(tone(TONE_HZ, 0.02, sink.codec))
                await asyncio.sleep(0.02)
        assert "454" in sink.lost
        with pytest.raises(TalkDeviceError, match="454"):
            await sink.send(tone(TONE_HZ, 0.02, sink.codec))
        await sink.aclose()
        assert device.teardowns == 0  # nothing to tear down
