"""The ONVIF backchannel against a peer Vigil did not write: GStreamer's ONVIF RTSP server
(vigil.sim.camera_server with `backchannel=`), which also serves the camera's video."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.camsim import CameraServer
from tests.support.g711_tone import peak_hz, tone
from tests.support.talk_device import describe_without_backchannel
from vigil.config import CameraConfig
from vigil.core.camera_modes import TalkPath
from vigil.core.media import AudioCodec
from vigil.intercom.device import open_talk

TONE_HZ = 700.0
SECONDS = 3.0


@pytest.mark.parametrize("law", ["pcmu", "pcma"])
async def test_a_tone_reaches_gstreamers_onvif_backchannel(tmp_path: Path, law: str) -> None:
    dump = tmp_path / "speaker.g711"
    spec = f"name=door,width=320,height=180,fps=5,backchannel={law},backchannel_dump={dump}"
    with CameraServer(spec) as cameras:
        url = cameras.url("door")
        sdp = await describe_without_backchannel(url, cameras.port)
        assert b"m=video" in sdp and b"sendonly" not in sdp
        camera = CameraConfig(id="door", building="main", name="Door", url=url, talk=TalkPath.ONVIF)
        sink = await open_talk(camera, timeout_s=5.0)
        assert sink.codec is (AudioCodec.PCMU if law == "pcmu" else AudioCodec.PCMA)
        audio = tone(TONE_HZ, SECONDS, sink.codec)
        # in real time, as a microphone delivers it (a 3 s burst then TEARDOWN loses most of it in
        # GStreamer's backchannel pipeline: a real camera plays at 8 kHz too)
        loop = asyncio.get_running_loop()
        start_s = loop.time()
        for i in range(0, len(audio), 160):
            await sink.send(audio[i : i + 160])
            await asyncio.sleep(max(0.0, start_s + (i + 160) / 8000 - loop.time()))
        await sink.aclose()
        assert sink.lost is None
        # Until all of it is written, or 5 s: under load GStreamer may drop a few packets, which the
        # duration check below allows (±10 %), so a short file is judged, not waited for forever.
        deadline_s = loop.time() + 5
        while (not dump.exists() or dump.stat().st_size < len(audio)) and loop.time() < deadline_s:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    heard = dump.read_bytes()
    assert abs(len(heard) / 8000 - SECONDS) <= 0.1 * SECONDS
    assert abs(peak_hz(heard, sink.codec) - TONE_HZ) <= 0.02 * TONE_HZ
