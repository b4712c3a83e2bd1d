"""Axis VAPIX transmit.cgi against the simulated speaker (vigil.sim.vapix_speaker) on loopback."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from tests.support.g711_tone import peak_hz, tone
from tests.support.talk_device import send_until_lost
from vigil.config import CameraConfig
from vigil.core.camera_modes import TalkPath
from vigil.core.errors import TalkDeviceError, TalkUnsupportedError
from vigil.core.media import AudioCodec
from vigil.intercom.device import open_talk
from vigil.sim.vapix_speaker import PATH, VapixSpeaker

TONE_HZ = 440.0
SECONDS = 3.0
CHUNK = 160


USER, PASSWORD = "root", "pass"


def _camera(speaker: VapixSpeaker, user: str | None = USER, password: str | None = PASSWORD) -> CameraConfig:
    return CameraConfig(
        id="hall", building="main", name="Hall speaker", url="rtsp://127.0.0.1:1/video",
        username=user, password=password, talk=TalkPath.VAPIX, talk_url=speaker.url,
    )


@pytest.mark.parametrize("fault", [None, "needs-body"])
async def test_a_tone_reaches_the_speaker(fault: str | None) -> None:
    """Also from a device that answers the empty probe with 400 (wants a body)."""
    async with VapixSpeaker(auth=(USER, PASSWORD), fault=fault) as speaker:
        sink = await open_talk(_camera(speaker), timeout_s=5.0)
        assert sink.codec is AudioCodec.PCMU
        audio = tone(TONE_HZ, SECONDS, sink.codec)
        for i in range(0, len(audio), CHUNK):
            await sink.send(audio[i : i + CHUNK])
        await sink.aclose()
        assert sink.lost is None
        assert speaker.statuses[-1] == 204  # aclose waited for the device's answer
    heard = speaker.bodies[-1]
    assert abs(len(heard) / 8000 - SECONDS) <= 0.1 * SECONDS
    assert heard == audio
    assert abs(peak_hz(heard, AudioCodec.PCMU) - TONE_HZ) <= 0.02 * TONE_HZ


async def test_the_simulated_speaker_accepts_aiohttp_digest() -> None:
    """The sim's own Digest check agrees with aiohttp's client (so it judges Vigil's fairly)."""
    async with VapixSpeaker(auth=(USER, PASSWORD)) as speaker:
        for password, body, status in ((PASSWORD, b"\xff" * 160, 204), ("wrong", b"", 401)):
            middleware = aiohttp.DigestAuthMiddleware(USER, password)
            async with (
                aiohttp.ClientSession(middlewares=(middleware,)) as client,
                client.post(speaker.url + PATH, data=body, headers={"Content-Type": "audio/basic"}) as response,
            ):
                assert response.status == status
        assert speaker.bodies == [b"\xff" * 160]


async def test_wrong_password_is_a_device_error() -> None:
    async with VapixSpeaker(auth=(USER, PASSWORD)) as speaker:
        with pytest.raises(TalkDeviceError, match="refused the credentials"):
            await open_talk(_camera(speaker, password="nope"), timeout_s=5.0)
        assert speaker.bodies == []


async def test_a_device_without_audio_is_unsupported() -> None:
    async with VapixSpeaker(fault="no-audio") as speaker:
        with pytest.raises(TalkUnsupportedError, match="404"):
            await open_talk(_camera(speaker, None, None), timeout_s=5.0)


async def test_no_device_is_a_device_error() -> None:
    speaker = VapixSpeaker()
    await speaker.start()
    await speaker.close()  # its port is now closed
    with pytest.raises(TalkDeviceError, match="cannot reach"):
        await open_talk(_camera(speaker), timeout_s=2.0)


@pytest.mark.parametrize("fault", ["drop=1600", "stall"])
async def test_a_device_that_drops_or_stalls_mid_talk_loses_the_session(fault: str) -> None:
    async with VapixSpeaker(fault=fault) as speaker:
        sink = await open_talk(_camera(speaker, None, None), timeout_s=1.0)
        audio = tone(TONE_HZ, 2.0, sink.codec)  # 16000 bytes a send: fills loopback's buffers soon
        with pytest.raises(TalkDeviceError):
            async with asyncio.timeout(30):
                while True:
                    await sink.send(audio)
        assert sink.lost
        with pytest.raises(TalkDeviceError):
            await sink.send(audio[:CHUNK])
        assert len(speaker.bodies[-1]) < 64 * 1024 * 1024
        async with asyncio.timeout(5):
            await sink.aclose()


async def test_credentials_in_the_talk_url_sign_in_and_stay_out_of_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with VapixSpeaker(auth=("op", "p@ss:word"), fault="drop=320") as speaker:
        camera = _camera(speaker, None, None)
        camera = CameraConfig(
            id=camera.id, building=camera.building, name=camera.name, url=camera.url, talk=TalkPath.VAPIX,
            talk_url=speaker.url.replace("http://", "http://op:p%40ss%3Aword@") + "/",
        )
        sink = await open_talk(camera, timeout_s=2.0)
        dropped = await send_until_lost(sink, TONE_HZ)
        await sink.aclose()
    assert len(speaker.bodies[-1]) >= 320
    assert "lost" in caplog.text
    for text in (str(dropped), caplog.text):
        assert "p@ss" not in text and "p%40ss" not in text


@pytest.mark.parametrize("url", ["rtsp://cam/", "http://cam:99999/", "http:///x"])
async def test_a_talk_url_that_is_no_http_url_is_unsupported(url: str) -> None:
    camera = CameraConfig(id="x", building="b", name="x", url="rtsp://cam/", talk=TalkPath.VAPIX, talk_url=url)
    with pytest.raises(TalkUnsupportedError, match="http"):
        await open_talk(camera, timeout_s=1.0)
