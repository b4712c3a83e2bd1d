"""Cameras read by Vigil's own RTSP client (`ingest = "native"`) in the real daemon: live video
and sound to an aiortc peer (the tone heard), recordings ffprobe accepts, the camera clock's skew
from RTCP in /api/cameras and /api/health, and `ingest` shown by the configuration API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pytest

from tests.support.camsim import CameraServer
from tests.support.http_call import free_port
from tests.support.live_peer import LivePeer, ServedDaemon, bearer, served
from tests.support.netns import requires_test_namespace
from tests.support.tone import peak_hz
from tests.support.vigil_proc import (
    ffprobe_video,
    index_of,
    wait_for,
    write_config,
)
from vigil.sim.camera_server import TONE_HZ

pytestmark = [requires_test_namespace, pytest.mark.slow]  # ~25 s: one daemon, two cameras, a real peer

BASE = "width=320,height=240,fps=15,gop=15,bitrate=300"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDaemon]:
    tmp = tmp_path_factory.mktemp("native")
    port = free_port()
    with CameraServer(f"name=pcmu,{BASE},audio=pcmu", f"name=udp,{BASE},bframes=2") as cams:
        http = f'[http]\nlisten = "127.0.0.1:{port}"\npublic_url = "https://127.0.0.1:{port}"'
        config = write_config(tmp, {"pcmu": cams.url("pcmu")}, "segment_duration_s = 3\n" + http,
                              camera_extra='ingest = "native"')
        config.write_text(config.read_text() + f'[[cameras]]\nid = "udp"\nbuilding = "hs"\nurl = "{cams.url("udp")}"\n'
                          'ingest = "native"\ntransport = "udp"\n')
        with served(config, port) as d:

            def up() -> bool:
                status, cameras = d.get("/api/cameras")
                return status == 200 and all(c["status"]["state"] == "up" for c in cameras) and any(
                    c["audio"] == "pcmu" for c in cameras)

            wait_for(up, 30, "both cameras up, the PCMU camera's audio known")
            yield d


async def test_live_video_and_sound_from_a_native_camera(daemon: ServedDaemon) -> None:
    listener = LivePeer(daemon.base, daemon.ssl(), want_audio=True)
    try:
        await listener.open("pcmu", bearer(daemon.token))
        await asyncio.sleep(3.0)
    finally:
        await listener.close()
    assert "a=rtpmap:0 PCMU/8000" in listener.audio_section()
    assert listener.frames > 15
    samples = np.concatenate(listener.audio)
    assert samples.size / listener.audio_rate > 1.0
    assert peak_hz(samples, listener.audio_rate) == pytest.approx(TONE_HZ, rel=0.02)


def test_recorded_over_tcp_and_udp_and_the_clock_skew_shown(daemon: ServedDaemon) -> None:
    def skews() -> dict[str, float | None]:
        status, cameras = daemon.get("/api/cameras")
        return {c["id"]: c["status"]["clock_skew_ms"] for c in cameras} if status == 200 else {}

    wait_for(lambda: all(v is not None for v in skews().values()) and len(skews()) == 2, 20, "RTCP sender reports")
    assert all(abs(v or 0) < 1000 for v in skews().values())  # the sim camera runs on this machine's clock
    status, health = daemon.get("/api/health")
    assert status == 200 and set(health["cameras"]["clock_skew_ms"]) == {"pcmu", "udp"}, health
    index = index_of(daemon.config)
    wait_for(lambda: all(len(index.segments(c)) >= 2 for c in ("pcmu", "udp")), 30, "two segments from each camera")
    recordings = daemon.config.parent / "data" / "recordings"
    for camera in ("pcmu", "udp"):
        for seg in index.segments(camera)[:2]:
            probe = ffprobe_video(recordings / seg.path)
            assert probe["codec_name"] == "h264" and int(probe["nb_read_frames"]) == seg.frame_count, (camera, probe)
    status, body = daemon.get("/api/config/cameras")
    assert status == 200 and {c["id"]: (c["ingest"], c["transport"]) for c in body["cameras"]} == {
        "pcmu": ("native", "tcp"), "udp": ("native", "udp")}
