"""Both ingests (FFmpeg's demuxer and our own RTSP client) against every RTSP server installable
here: GStreamer's rtsp-server (the sim camera), VLC's RTSP output, and FFmpeg's RTP packetizer
(behind GStreamer's RTSP, since FFmpeg cannot serve RTSP). The matrix and what each peer taught
us: design/ingest.md, "Interop matrix".

Each case runs one ingest into a real fan-out with two subscribers, a checker and the real
Recorder, until N access units arrived, and judges: a session starts with the server's codec; the
first unit is a keyframe; dts strictly increases, pts >= dts; every unit decodes with PyAV (as many
frames out as units in) at the server's size; audio arrives on its fan-out in the server's codec;
and the recording made meanwhile probes clean with ffprobe, frame count as indexed. VLC over TCP
is refused by VLC (461): the ingest must report the camera down, not hang or crash.

The unmarked cases are the CI form (one per peer); the full matrix is marked slow.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest

from tests.support.camsim import CameraServerFactory
from tests.support.media_judge import decode_errors, probe
from tests.support.rtsp_peers import FfmpegRtpServer, VlcServer, make_clip
from vigil.config import CameraConfig
from vigil.core.camera_health import CameraState, Transition
from vigil.core.camera_modes import IngestPath, Stream, Transport
from vigil.core.media import (
    AudioCodec,
    AudioPacket,
    AudioStarted,
    Codec,
    DownReason,
    EncodedPacket,
    SessionEnded,
    SessionStarted,
    StreamItem,
)
from vigil.core.rotation import RotationPolicy
from vigil.ingest.fanout import Fanout
from vigil.pipelines import ingest_class
from vigil.record.recorder import Recorder
from vigil.record.storage import open_storage_dir
from vigil.store.index import Index

UNITS = 30  # 2 s at 15 fps: two keyframes
WIDTH, HEIGHT = 320, 240
CLIP_S = 20.0  # VLC's --loop ends the RTSP session at every loop (see test_vlc_loop_ends_the_session)
WAIT_S = 25.0  # for the units, under a loaded machine (not a timing assertion: a bound on a hang)


@dataclass(frozen=True)
class Case:
    peer: str  # gst | vlc | ffmpeg
    codec: Codec
    transport: Transport
    extra: str = ""  # sim camera spec keys (gst only)
    audio: AudioCodec | None = None
    refused: bool = False  # the peer does not offer this transport

    @property
    def id(self) -> str:
        return "-".join(filter(None, (self.peer, SPEC_NAME[self.codec], self.extra.replace("=", ""),
                                      self.transport.value)))


H264, H265, TCP, UDP = Codec.H264, Codec.H265, Transport.TCP, Transport.UDP
SPEC_NAME = {H264: "h264", H265: "h265"}  # the peers' names (the sim camera's codec=, make_clip)
CI_CASES = [
    Case("gst", H264, TCP),
    Case("vlc", H264, UDP),
    Case("ffmpeg", H264, TCP),
    Case("vlc", H264, TCP, refused=True),
]
SLOW_CASES = [
    Case("gst", H264, UDP),
    Case("gst", H264, TCP, "bframes=2"),
    Case("gst", H265, TCP),
    Case("gst", H265, UDP),
    Case("gst", H264, TCP, "audio=pcma", AudioCodec.PCMA),
    Case("gst", H264, UDP, "audio=pcma", AudioCodec.PCMA),
    Case("gst", H264, TCP, "audio=aac", AudioCodec.AAC),
    Case("vlc", H265, UDP),
    Case("vlc", H264, UDP, "audio=aac", AudioCodec.AAC),
    Case("ffmpeg", H264, UDP),
    Case("ffmpeg", H265, TCP),
    Case("ffmpeg", H265, UDP),
]
CASES = [pytest.param(c, id=c.id) for c in CI_CASES] + [
    pytest.param(c, id=c.id, marks=pytest.mark.slow) for c in SLOW_CASES]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[Codec, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {H264: make_clip(folder / "h264.mp4", "h264", CLIP_S, WIDTH, HEIGHT),
            H265: make_clip(folder / "h265.mp4", "h265", CLIP_S, WIDTH, HEIGHT)}


@pytest.fixture(scope="module")
def aac_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clips") / "h264-aac.mp4", "h264", CLIP_S, WIDTH, HEIGHT, aac=True)


@contextmanager
def peer(case: Case, camera_server: CameraServerFactory, clips: dict[Codec, Path],
         aac_clip: Callable[[], Path]) -> Iterator[str]:
    if case.peer == "gst":
        spec = f"name=x,width={WIDTH},height={HEIGHT},fps=15,gop=15,codec={SPEC_NAME[case.codec]}"
        yield camera_server(spec + (f",{case.extra}" if case.extra else "")).url("x")
    elif case.peer == "vlc" and case.audio is AudioCodec.AAC:
        with VlcServer(aac_clip(), audio=True) as vlc:
            yield vlc.url
    elif case.peer == "vlc":
        with VlcServer(clips[case.codec]) as vlc:
            yield vlc.url
    else:
        with FfmpegRtpServer(clips[case.codec], SPEC_NAME[case.codec]) as ffmpeg:
            yield ffmpeg.url


@dataclass
class Run:
    video: list[StreamItem]
    audio: list[StreamItem]
    transitions: list[Transition]
    ingest: Any
    index: Index
    recordings: Path


def run_ingest(kind: IngestPath, case: Case, url: str, tmp: Path, until_down: bool = False) -> Run:
    """The ingest into a fan-out feeding a checker and the Recorder, until UNITS units (or, with
    ``until_down``, until the camera is down), then stopped; the recorder finished."""
    video, audio = Fanout(), Fanout()
    check, audio_check = video.subscribe("check", 10_000), audio.subscribe("check", 10_000)
    index = Index.open(tmp / "index.sqlite3", time.time_ns())
    with index.transaction() as c:
        storage = open_storage_dir(c, tmp / "rec", require_mount=False)
    recorder = Recorder("cam", Stream.MAIN, video.subscribe("rec", 1000), index, storage,
                        RotationPolicy(target_90k=60 * 90_000))
    transitions: list[Transition] = []
    camera = CameraConfig("cam", "hs", "cam", url, transport=case.transport, ingest=kind)
    ingest = ingest_class(camera)(camera, url, Stream.MAIN, video, transitions.append, audio_fanout=audio)
    threads = [threading.Thread(target=recorder.run), threading.Thread(target=ingest.run)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + WAIT_S
    try:
        while time.monotonic() < deadline:
            if until_down and ingest.health.state is CameraState.DOWN:
                break
            if not until_down and len(check) >= UNITS:  # counts packets from the first keyframe on
                break
            time.sleep(0.05)
    finally:
        ingest.stop()
        threads[1].join(10)
        video.close()
        audio.close()
        threads[0].join(10)
    assert not any(t.is_alive() for t in threads)
    return Run(check.drain(), audio_check.drain(), transitions, ingest, index, storage.path)


def decoded_frames(codec: Codec, extradata: bytes, units: list[EncodedPacket]) -> list[tuple[int, int]]:
    ctx: Any = av.CodecContext.create(codec.value, "r")
    if extradata:
        ctx.extradata = extradata
    sizes = []
    for unit in [*units, None]:
        for frame in ctx.decode(None if unit is None else av.Packet(unit.data)):
            sizes.append((frame.width, frame.height))
    return sizes


@pytest.mark.parametrize("kind", [IngestPath.FFMPEG, IngestPath.NATIVE], ids=lambda k: str(k))
@pytest.mark.parametrize("case", CASES)
def test_interop(case: Case, kind: IngestPath, camera_server: CameraServerFactory, clips: dict[Codec, Path],
                 tmp_path: Path, request: pytest.FixtureRequest) -> None:
    with peer(case, camera_server, clips, lambda: request.getfixturevalue("aac_clip")) as url:
        run = run_ingest(kind, case, url, tmp_path, until_down=case.refused)
    if case.refused:  # VLC: "461 Unsupported transport" to RTP/AVP/TCP
        assert not any(isinstance(i, SessionStarted) for i in run.video)
        assert run.ingest.health.state is CameraState.DOWN
        if kind is IngestPath.NATIVE:
            assert run.ingest.health.reason is DownReason.BAD_STREAM
        return

    started = run.video[0]
    assert sum(isinstance(i, SessionStarted) for i in run.video) == 1, run.transitions  # one session
    assert isinstance(started, SessionStarted) and started.info.codec is case.codec, run.video[:1]
    assert run.ingest.codec is case.codec
    units = [i for i in run.video if isinstance(i, EncodedPacket)]
    assert len(units) >= UNITS and units[0].is_keyframe
    assert sum(u.is_keyframe for u in units) >= 2  # a 1 s GOP: the later ones flagged too
    for a, b in itertools.pairwise(units):
        assert b.dts_90k > a.dts_90k, (a.dts_90k, b.dts_90k)
    assert all(u.pts_90k >= u.dts_90k for u in units)
    assert (any(u.pts_90k != u.dts_90k for u in units) and run.ingest.has_bframes) == ("bframes" in case.extra)
    assert isinstance(run.video[-1], SessionEnded) and run.video[-1].reason is DownReason.SHUTDOWN
    sizes = decoded_frames(case.codec, started.info.extradata, units)
    assert len(sizes) == len(units) and set(sizes) == {(WIDTH, HEIGHT)}

    if case.audio is not None:
        assert isinstance(run.audio[0], AudioStarted) and run.audio[0].info.codec is case.audio
        assert run.ingest.audio is not None and run.ingest.audio.codec is case.audio
        assert sum(isinstance(i, AudioPacket) for i in run.audio) >= 10
        assert isinstance(run.audio[-1], SessionEnded)
    else:
        assert run.audio == []

    segments = run.index.segments("cam")
    assert segments and sum(s.frame_count or 0 for s in segments) >= UNITS - 1
    for seg in segments:
        path = run.recordings / seg.path
        judged = probe(path)
        assert judged["codec_name"] == {H264: "h264", H265: "hevc"}[case.codec]
        assert int(judged["nb_read_frames"]) == seg.frame_count and (seg.width, seg.height) == (WIDTH, HEIGHT)
        assert decode_errors(path) == ""


@pytest.mark.slow
@pytest.mark.parametrize("kind", [IngestPath.FFMPEG, IngestPath.NATIVE], ids=lambda k: str(k))
def test_vlc_loop_ends_the_session(kind: IngestPath, tmp_path: Path) -> None:
    """VLC's ``--loop`` tears its RTP output down at the end of the clip (the RTSP session ends);
    the ingest reports the stream ended and reconnects, each session from a keyframe."""
    clip = make_clip(tmp_path / "short.mp4", "h264", 3.0, WIDTH, HEIGHT)
    case = Case("vlc", H264, UDP)
    with VlcServer(clip) as vlc:
        video = Fanout()
        check = video.subscribe("check", 10_000)
        transitions: list[Transition] = []
        camera = CameraConfig("cam", "hs", "cam", vlc.url, transport=case.transport, ingest=kind)
        ingest = ingest_class(camera)(camera, vlc.url, Stream.MAIN, video, transitions.append)
        thread = threading.Thread(target=ingest.run)
        thread.start()
        items: list[StreamItem] = []

        def second_session_has_a_unit() -> bool:
            items.extend(check.drain())
            starts = [k for k, i in enumerate(items) if isinstance(i, SessionStarted)]
            return len(starts) >= 2 and len(items) > starts[1] + 1

        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not second_session_has_a_unit():
            time.sleep(0.05)
        ingest.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert [t.kind for t in transitions][:3] == ["camera_up", "camera_down", "camera_up"], transitions
    assert transitions[1].reason is DownReason.ENDED
    ended = [i for i in items if isinstance(i, SessionEnded)]
    assert ended[0].reason is DownReason.ENDED
    after_start = [items[k + 1] for k, i in enumerate(items[:-1]) if isinstance(i, SessionStarted)]
    assert len(after_start) >= 2 and all(isinstance(i, EncodedPacket) and i.is_keyframe for i in after_start)
