"""The ONVIF backchannel against the simulated loudspeaker (vigil.sim.backchannel_camera) on
loopback: what the device hears, and each way it can refuse or fail."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.support.g711_tone import peak_hz, tone
from vigil.config import CameraConfig
from vigil.core.camera_modes import TalkPath
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


@pytest.mark.parametrize("codec", ["pcmu", "pcma"])
async def test_a_tone_reaches_the_loudspeaker(codec: str) -> None:
    async with BackchannelCamera(codec=codec, auth=("admin", "s3cret")) as device:
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
