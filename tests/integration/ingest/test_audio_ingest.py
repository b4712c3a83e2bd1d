"""The camera's audio reaches its own fan-out from a real RTSP camera (the GStreamer sim camera),
through either ingest (FFmpeg's demuxer or Vigil's own client, the same items from both):
AudioStarted naming the codec, then AudioPackets on the video's media clock (continuous,
monotonic, durations as the codec says, close to the video's time), then SessionEnded; the video
fan-out (the recorder's and motion's) carries no audio item."""

from __future__ import annotations

import itertools
import threading
import time

import av
import numpy as np
import pytest

from tests.support.camsim import CameraServerFactory
from tests.support.tone import peak_hz
from vigil.config import CameraConfig
from vigil.core.camera_modes import Stream
from vigil.core.media import (
    AudioCodec,
    AudioPacket,
    AudioStarted,
    EncodedPacket,
    SessionEnded,
    SessionStarted,
    StreamItem,
)
from vigil.ingest.fanout import Fanout
from vigil.ingest.native_ingest import NativeRtspIngest
from vigil.ingest.rtsp import RtspIngest
from vigil.sim.camera_server import TONE_HZ

RUN_S = 3.0
CASES = [("pcmu", AudioCodec.PCMU, 8000), ("pcma", AudioCodec.PCMA, 8000), ("aac", AudioCodec.AAC, 48000)]
INGESTS: dict[str, type[RtspIngest | NativeRtspIngest]] = {"ffmpeg": RtspIngest, "native": NativeRtspIngest}


def _ingest(url: str, run_s: float, kind: str = "ffmpeg") -> tuple[list[StreamItem], list[StreamItem]]:
    video, audio = Fanout(), Fanout()
    video_sub, audio_sub = video.subscribe("recorder", 10_000), audio.subscribe("listener", 10_000)
    ingest = INGESTS[kind](CameraConfig("cam", "hs", "cam", url), url, Stream.MAIN, video, lambda _t: None,
                           audio_fanout=audio)
    thread = threading.Thread(target=ingest.run)
    thread.start()
    time.sleep(run_s)
    ingest.stop()
    thread.join(10)
    assert not thread.is_alive()
    return video_sub.drain(), audio_sub.drain()


def _decode(codec: AudioCodec, extradata: bytes, packets: list[AudioPacket]) -> tuple[np.ndarray, int]:
    ctx = av.CodecContext.create(codec.value, "r")
    if extradata:
        ctx.extradata = extradata
    if codec in (AudioCodec.PCMU, AudioCodec.PCMA):
        ctx.sample_rate, ctx.layout = 8000, "mono"  # type: ignore[attr-defined,unused-ignore]
    chunks = []
    for p in packets:
        for frame in ctx.decode(av.Packet(p.data)):
            chunks.append(frame.to_ndarray()[0])
            rate = frame.sample_rate
    return np.concatenate(chunks), rate


@pytest.mark.parametrize("kind", INGESTS)
@pytest.mark.parametrize(("spec", "codec", "rate"), CASES)
def test_audio_on_its_fanout_on_the_video_clock(camera_server: CameraServerFactory, spec: str, codec: AudioCodec,
                                                rate: int, kind: str) -> None:
    cams = camera_server(f"name=c,width=320,height=240,fps=15,gop=15,audio={spec}")
    video_items, audio_items = _ingest(cams.url("c"), RUN_S, kind)

    assert all(isinstance(i, SessionStarted | SessionEnded | EncodedPacket) for i in video_items)
    video = [i for i in video_items if isinstance(i, EncodedPacket)]
    assert isinstance(audio_items[0], AudioStarted) and isinstance(audio_items[-1], SessionEnded)
    info = audio_items[0].info
    assert (info.codec, info.sample_rate, info.channels) == (codec, rate, 1)
    assert bool(info.extradata) == (codec is AudioCodec.AAC)  # AAC's AudioSpecificConfig from the SDP
    packets = [i for i in audio_items if isinstance(i, AudioPacket)]
    assert all(isinstance(i, AudioPacket) for i in audio_items[1:-1])
    # About RUN_S of sound (less the connect time), continuous: each packet starts where the last ended.
    assert len(packets) * packets[0].duration_90k > 90_000 * (RUN_S - 2)
    # (exactly: FFmpeg re-bases RTP time on the first sender report, which once made a 12-tick step
    # under load; core/audio_timeline.py keeps the sound continuous; a lost frame is hundreds of ticks)
    for a, b in itertools.pairwise(packets):
        assert a.duration_90k > 0 and b.pts_90k == a.pts_90k + a.duration_90k, (a, b)
    if codec is not AudioCodec.AAC:  # G.711: one byte a sample
        assert {p.duration_90k for p in packets} == {len(packets[0].data) * 90_000 // 8000}
    else:
        assert {p.duration_90k for p in packets} == {1024 * 90_000 // rate}  # one AAC frame
    # On the video's media clock: the audio and the video end within 300 ms of each other.
    assert abs(packets[-1].pts_90k - video[-1].dts_90k) < 27_000, (packets[-1].pts_90k, video[-1].dts_90k)
    samples, decoded_rate = _decode(codec, info.extradata, packets)
    assert decoded_rate == rate
    assert peak_hz(samples, rate) == pytest.approx(TONE_HZ, rel=0.02)


@pytest.mark.parametrize("kind", INGESTS)
def test_no_audio_fanout_no_audio(camera_server: CameraServerFactory, kind: str) -> None:
    """Without an audio track the audio fan-out stays silent and the video is as before."""
    cams = camera_server("name=c,width=320,height=240,fps=15,gop=15")
    video_items, audio_items = _ingest(cams.url("c"), 2.0, kind)
    assert audio_items == []
    assert any(isinstance(i, EncodedPacket) and i.is_keyframe for i in video_items)
