"""webrtc/transcode.py with real encoded video (ffmpeg's libx265 and libx264 with B-frames) on a
real Fanout, and ffprobe as the judge of what it publishes; and the registry's sharing, grace and
eviction."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import time
from pathlib import Path
from typing import Any

import av
import pytest

from vigil.core.camera_modes import Stream
from vigil.core.media import Codec, EncodedPacket, SessionEnded, SessionStarted, StreamInfo
from vigil.ingest.fanout import Fanout, Subscription
from vigil.webrtc.transcode import TranscodeKey, Transcoder, Transcoders

FRAME_90K = 6000  # 15 fps
FRAMES = 45  # 3 s


def _clip(tmp: Path, codec: str, extra: list[str]) -> list[tuple[bytes, int, int, bool]]:
    """(access unit, pts_90k, dts_90k, keyframe) of 3 s of 640x360 testsrc2 (a 2 s GOP)."""
    path = tmp / f"clip.{codec}"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=15", "-t", "3",
                    "-c:v", codec, "-g", "30", *extra, "-f", "hevc" if codec == "libx265" else "h264", str(path)],
                   check=True)
    out = []
    with av.open(str(path), format="hevc" if codec == "libx265" else "h264") as container:
        # Raw streams have no timestamps: decode order numbers the packets, the decoder's reorder
        # gives display order; pts from a parse of the POC would be better, a fixed delay will do.
        packets = [p for p in container.demux(container.streams.video[0]) if p.size]
        decoded: Any = av.CodecContext.create(container.streams.video[0].codec_context.name, "r")
        order = []
        for i, p in enumerate(packets):
            p.pts = i
            order += [f.pts for f in decoded.decode(p)]
        order += [f.pts for f in decoded.decode(None)]
        display = {decode_index: shown for shown, decode_index in enumerate(order)}
        for i, p in enumerate(packets):
            out.append((bytes(p), (display[i] + 2) * FRAME_90K, i * FRAME_90K, p.is_keyframe))
    return out


def _feed(fanout: Fanout, codec: Codec, clip: list[tuple[bytes, int, int, bool]], transcoder: Transcoder,
          keyframe_at: int | None = None) -> None:
    """Publish the clip, never more than 10 frames ahead of the encoder (no drops in this test)."""
    fanout.publish(SessionStarted(StreamInfo(codec, 640, 360, b""), time.time_ns()))
    for i, (data, pts, dts, key) in enumerate(clip):
        deadline = time.monotonic() + 10
        while transcoder.frames_encoded < i - 10 and time.monotonic() < deadline:
            time.sleep(0.005)
        if i == keyframe_at:
            transcoder.request_keyframe()
        fanout.publish(EncodedPacket(data, dts, pts, key, time.time_ns()))


def _outputs(sub: Subscription, count: int) -> list[EncodedPacket]:
    got: list[EncodedPacket] = []
    deadline = time.monotonic() + 20
    while len(got) < count and time.monotonic() < deadline:
        item = sub.get(timeout_s=0.5)
        if isinstance(item, EncodedPacket):
            got.append(item)
    return got


@pytest.mark.parametrize(("codec", "encoder", "extra"), [
    (Codec.H265, "libx265", ["-x265-params", "log-level=error:bframes=0"]),
    (Codec.H264, "libx264", ["-bf", "2", "-profile:v", "main"]),  # B-frames: decode order is not display order
])
def test_published_video_is_constrained_baseline_h264_in_display_order(
        tmp_path: Path, codec: Codec, encoder: str, extra: list[str]) -> None:
    clip = _clip(tmp_path, encoder, extra)
    assert (codec is Codec.H265) or any(pts != dts + 2 * FRAME_90K for _, pts, dts, _ in clip)  # really reordered
    fanout = Fanout()
    transcoder = Transcoder(TranscodeKey("door", Stream.MAIN), fanout, 320, 240)
    viewer = transcoder.output.subscribe("viewer", 200)
    transcoder.start()
    try:
        _feed(fanout, codec, clip, transcoder, keyframe_at=20)
        started = viewer.get(timeout_s=10)
        assert isinstance(started, SessionStarted) and started.info == StreamInfo(Codec.H264, 320, 180, b"")
        got = _outputs(viewer, FRAMES - 4)  # the decoder may hold back its last few frames
    finally:
        transcoder.stop()
    assert transcoder.finished.wait(5)
    assert len(got) >= FRAMES - 4, len(got)
    pts = [p.pts_90k for p in got]
    assert all(p.pts_90k == p.dts_90k for p in got) and pts == sorted(set(pts))  # no B-frames, display order
    assert set(pts) <= {p for _, p, _, _ in clip}  # the camera's own display times
    keys = [p.pts_90k for p in got if p.is_keyframe]
    gaps = [b - a for a, b in itertools.pairwise(keys)]
    assert keys[0] == pts[0] and all(gap <= 90_000 for gap in gaps), keys  # an IDR every second
    assert any(gap < 90_000 - FRAME_90K for gap in gaps), keys  # and the one asked for (a new viewer)
    stream = tmp_path / "out.h264"
    stream.write_bytes(b"".join(p.data for p in got))
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                            "stream=codec_name,profile,width,height,has_b_frames,nb_read_frames", "-of",
                            "default=nw=1", str(stream)], capture_output=True, text=True, check=True).stdout
    assert dict(line.split("=", 1) for line in probe.splitlines()) == {
        "codec_name": "h264", "profile": "Constrained Baseline", "width": "320", "height": "180",
        "has_b_frames": "0", "nb_read_frames": str(len(got))}
    # The output's viewers are told the session ended, then the output closes.
    rest = [viewer.get(timeout_s=1) for _ in range(len(viewer) + 2)]
    assert any(isinstance(item, SessionEnded) for item in rest) and viewer.closed


async def test_viewers_share_one_transcoder_until_the_grace_after_the_last() -> None:
    transcoders = Transcoders(grace_s=0.2)
    main, other = Fanout(), Fanout()
    key = TranscodeKey("door", Stream.MAIN)
    first = transcoders.acquire(key, main, 1280, 720)
    assert transcoders.acquire(key, main, 1280, 720) is first and first.viewers == 2
    assert transcoders.busy() == 1 and transcoders.running(key, main)
    assert not transcoders.running(key, other)  # a reload's new fan-out needs a new one
    transcoders.release(first)
    transcoders.release(first)
    assert transcoders.busy() == 0 and transcoders.running(key, main)  # in its grace
    again = transcoders.acquire(key, main, 1280, 720)  # a page reload: the same encoder
    assert again is first
    transcoders.release(again)
    await asyncio.sleep(0.4)
    assert not transcoders.running(key, main) and transcoders.all() == ()
    assert await asyncio.to_thread(first.finished.wait, 5)


async def test_a_new_transcoder_stops_the_idle_ones() -> None:
    transcoders = Transcoders(grace_s=60)
    door = transcoders.acquire(TranscodeKey("door", Stream.MAIN), Fanout(), 1280, 720)
    gym = transcoders.acquire(TranscodeKey("gym", Stream.SUB), Fanout(), 1280, 720)
    transcoders.release(door)
    hall = transcoders.acquire(TranscodeKey("hall", Stream.MAIN), Fanout(), 1280, 720)
    assert set(transcoders.all()) == {gym, hall} and transcoders.busy() == 2
    assert await asyncio.to_thread(door.finished.wait, 5)
    transcoders.close_all()
    assert await asyncio.to_thread(gym.finished.wait, 5) and await asyncio.to_thread(hall.finished.wait, 5)
