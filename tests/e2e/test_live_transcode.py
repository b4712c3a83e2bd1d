"""Every camera plays live: the real daemon re-encodes H.265 and B-frame cameras to H.264 for real
aiortc peers (which decode it), shares one encoder among a stream's viewers, stops it after the
last one leaves, refuses past `[webrtc] max_transcodes` with a problem naming the key, serves an
H.264 substream as it is rather than re-encoding the main stream, and records as before."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.camsim import CameraServer
from tests.support.http_call import call, free_port
from tests.support.live_peer import LivePeer, ServedDaemon, bearer, served, wait_async
from tests.support.media_judge import decode_errors
from tests.support.netns import requires_test_namespace
from tests.support.vigil_proc import (
    ffprobe_video,
    index_of,
    wait_for,
    write_config,
)

pytestmark = [requires_test_namespace, pytest.mark.slow]  # ~60 s: one daemon, three live encoders

SMALL = "width=320,height=240,fps=15,gop=15,bitrate=300"
CAMS = (f"name=hevc,{SMALL},codec=h265", f"name=bframes,{SMALL},bframes=2", f"name=hevc2,{SMALL},codec=h265",
        f"name=plain,{SMALL}")
MAX_TRANSCODES = 2


def transcodes(d: ServedDaemon) -> int:
    status, body = d.get("/api/health")
    assert status == 200
    return int(body["live_transcodes"])


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDaemon]:
    tmp = tmp_path_factory.mktemp("live-transcode")
    port = free_port()
    with CameraServer(*CAMS) as cams:
        extra = (f'segment_duration_s = 3\n[http]\nlisten = "127.0.0.1:{port}"\n'
                 f"[webrtc]\nmax_transcodes = {MAX_TRANSCODES}")
        config = write_config(tmp, {"hevc": cams.url("hevc"), "bframes": cams.url("bframes"),
                                    "hevc2": cams.url("hevc2"), "mixed": cams.url("hevc2")}, extra)
        text = config.read_text().replace('id = "mixed"\nbuilding = "hs"',
                                          f'id = "mixed"\nbuilding = "hs"\nsubstream_url = "{cams.url("plain")}"')
        config.write_text(text)
        with served(config, port) as d:
            for camera in ("hevc", "bframes", "hevc2", "mixed"):  # 400 for a malformed offer once it is up
                wait_for(lambda c=camera: call(d.base + f"/api/cameras/{c}/whep", "POST", b"v=0", {  # type: ignore[misc]
                    "Content-Type": "application/sdp", "Authorization": f"Bearer {d.token}"}, cafile=d.ca)[0] == 400,
                    30, f"camera {camera}")
            yield d


@contextlib.asynccontextmanager
async def watching(d: ServedDaemon, camera: str) -> AsyncIterator[LivePeer]:
    v = LivePeer(d.base, d.ssl())
    try:
        await v.open(camera, bearer(d.token))
        await wait_async(lambda: len(v.sizes) >= 15, 30, f"a second of {camera} decoded")
        yield v
    finally:
        await v.close()


async def _no_transcodes(d: ServedDaemon) -> None:
    await wait_async(lambda: transcodes(d) == 0, 20, "idle transcoders to stop")


@pytest.mark.parametrize("camera", ["hevc", "bframes"])
async def test_h265_and_bframes_reach_a_webrtc_peer_as_h264(daemon: ServedDaemon, camera: str) -> None:
    async with watching(daemon, camera) as v:
        assert v.video == "transcoded"
        assert "H264/90000" in v.answer and "H265" not in v.answer
        assert set(v.sizes) == {(320, 240)}  # never scaled up
    status, entries = daemon.get("/api/audit?limit=50")
    assert status == 200
    views = [e for e in entries if e["action"] == "live.view" and e["target"] == f"camera:{camera}"]
    assert views[0]["detail"]["video"] == "transcoded (main)"


async def test_viewers_share_one_encoder_which_stops_after_the_last(daemon: ServedDaemon) -> None:
    await _no_transcodes(daemon)
    started_before = daemon.vigil.log.count("transcode hevc/main: started")
    async with watching(daemon, "hevc") as first, watching(daemon, "hevc") as second:
        assert transcodes(daemon) == 1
        await first.leave(bearer(daemon.token))
        seen = len(second.sizes)
        await wait_async(lambda: len(second.sizes) >= seen + 15, 10, "the other viewer to go on")
        assert transcodes(daemon) == 1
        await second.leave(bearer(daemon.token))
    await _no_transcodes(daemon)
    log = daemon.vigil.log
    assert log.count("transcode hevc/main: started") == started_before + 1
    assert "transcode hevc/main: stopped after" in log


async def test_the_cap_refuses_with_a_problem_naming_the_key(daemon: ServedDaemon) -> None:
    await _no_transcodes(daemon)
    async with watching(daemon, "hevc"), watching(daemon, "bframes"):
        refused = LivePeer(daemon.base, daemon.ssl())
        try:
            status, body, headers = await refused.offer("hevc2", bearer(daemon.token))
        finally:
            await refused.close()
        assert status == 429, body
        problem = json.loads(body)
        assert "[webrtc] max_transcodes = 2" in problem["detail"] and "hevc2" in problem["detail"]
        assert headers["Content-Type"].startswith("application/problem+json") and headers["Retry-After"] == "10"
        async with watching(daemon, "hevc") as joined:  # a running encoder takes more viewers
            assert joined.video == "transcoded"
        assert transcodes(daemon) == MAX_TRANSCODES


async def test_an_h264_substream_is_served_as_it_is_instead(daemon: ServedDaemon) -> None:
    await _no_transcodes(daemon)
    async with watching(daemon, "mixed") as v:
        assert v.video == "substream"
        assert transcodes(daemon) == 0


def test_recording_goes_on_untouched(daemon: ServedDaemon) -> None:
    """Runs after the viewers above: the recorded segments of the re-encoded cameras are whole."""
    index = index_of(daemon.config)
    recordings = daemon.config.parent / "data" / "recordings"
    for camera_id, codec in (("hevc", "hevc"), ("bframes", "h264")):
        segments = index.segments(camera_id)  # the complete ones
        assert len(segments) >= 3, segments
        for seg in segments:
            probe = ffprobe_video(recordings / seg.path)
            assert probe["codec_name"] == codec and int(probe["nb_read_frames"]) == seg.frame_count, (seg, probe)
            assert decode_errors(recordings / seg.path) == ""
        assert [e.kind for e in index.events(camera_id) if e.kind == "camera_down"] == []
