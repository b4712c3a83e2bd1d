"""The listener's audio track (webrtc/audio_track.py) fed through a real fan-out: forwarded G.711
keeps the camera's bytes and time; AAC comes out as 48 kHz 16-bit frames with the tone in them and
its time; a camera that changed codec since the offer goes silent instead of sending the wrong
codec; a stopped track leaves the fan-out."""

from __future__ import annotations

import asyncio
import itertools
from fractions import Fraction

import av
import numpy as np
import pytest

from tests.support.tone import peak_hz
from vigil.core.listen import AudioPlan, AudioRoute
from vigil.core.media import AudioCodec, AudioInfo, AudioPacket, AudioStarted
from vigil.ingest.fanout import Fanout
from vigil.webrtc.audio_track import CameraAudioTrack

PCMA = AudioInfo(AudioCodec.PCMA, 8000, 1, b"")


def _aac_tone(seconds: float, hz: float = 440.0) -> tuple[bytes, list[bytes]]:
    """(AudioSpecificConfig, raw AAC frames) of a 48 kHz mono sine, encoded by FFmpeg."""
    enc = av.CodecContext.create("aac", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "mono", "fltp"
    enc.time_base = Fraction(1, 48000)
    t = np.arange(int(48000 * seconds)) / 48000
    samples = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    packets: list[bytes] = []
    for start in range(0, samples.size - 1024, 1024):
        frame = av.AudioFrame.from_ndarray(samples[start:start + 1024].reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, start
        packets += [bytes(p) for p in enc.encode(frame)]
    return bytes(enc.extradata or b""), packets


async def _take(track: CameraAudioTrack, count: int) -> list[object]:
    return [await asyncio.wait_for(track.recv(), 2.0) for _ in range(count)]


async def test_g711_is_forwarded_with_the_cameras_bytes_and_time() -> None:
    fanout = Fanout()
    track = CameraAudioTrack(fanout, "t", AudioPlan(AudioRoute.PASSTHROUGH, "audio/PCMA", AudioCodec.PCMA))
    fanout.publish(AudioStarted(PCMA, 0))
    for i in range(3):
        fanout.publish(AudioPacket(bytes([i]) * 160, 90_000 + i * 1800, 1800, 0))
    packets = await _take(track, 3)
    assert [bytes(p) for p in packets] == [bytes([i]) * 160 for i in range(3)]  # type: ignore[call-overload]
    assert [p.pts for p in packets] == [0, 1800, 3600]  # type: ignore[attr-defined]
    assert all(p.time_base == Fraction(1, 90_000) for p in packets)  # type: ignore[attr-defined]
    track.stop()
    assert fanout._subs == []  # it left the fan-out


async def test_aac_is_decoded_to_48k_s16_frames_with_the_tone() -> None:
    config, frames = _aac_tone(1.0)
    fanout = Fanout()
    track = CameraAudioTrack(fanout, "t", AudioPlan(AudioRoute.TRANSCODE, "audio/opus", AudioCodec.AAC))
    fanout.publish(AudioStarted(AudioInfo(AudioCodec.AAC, 48000, 1, config), 0))
    for i, data in enumerate(frames):
        fanout.publish(AudioPacket(data, 4500 + i * 1920, 1920, 0))
    out: list[av.AudioFrame] = []
    while sum(f.samples for f in out) < 36_000:
        frame = await asyncio.wait_for(track.recv(), 2.0)
        assert isinstance(frame, av.AudioFrame)
        out.append(frame)
    assert all(f.format.name == "s16" and f.sample_rate == 48000 for f in out)
    # Contiguous time from the first frame this listener got, in 1/48000.
    assert out[0].pts == 0 and all(b.pts == (a.pts or 0) + a.samples for a, b in itertools.pairwise(out))
    samples = np.concatenate([f.to_ndarray()[0] for f in out])
    assert peak_hz(samples[4800:], 48000) == pytest.approx(440, rel=0.02)
    track.stop()


async def test_a_camera_that_changed_codec_goes_silent() -> None:
    fanout = Fanout()
    track = CameraAudioTrack(fanout, "t", AudioPlan(AudioRoute.PASSTHROUGH, "audio/PCMA", AudioCodec.PCMA))
    fanout.publish(AudioStarted(AudioInfo(AudioCodec.PCMU, 8000, 1, b""), 0))  # reconnected as mu-law
    fanout.publish(AudioPacket(b"\xff" * 160, 0, 1800, 0))
    fanout.publish(AudioStarted(PCMA, 0))  # back to A-law
    fanout.publish(AudioPacket(b"\xd5" * 160, 9000, 1800, 0))
    (packet,) = await _take(track, 1)
    assert bytes(packet) == b"\xd5" * 160  # type: ignore[call-overload]  # the mu-law frame never went out
    track.stop()
