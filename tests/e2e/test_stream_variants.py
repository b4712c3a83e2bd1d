"""What real cameras do: H.265, B-frames, audio, SDP-only parameter sets, bad paths, refused ports,
and servers that answer garbage. Each is recorded as-is or reported with a clear reason."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.camsim import CameraServerFactory
from tests.support.http_call import free_port
from tests.support.vigil_proc import VigilProcess, ffprobe_video, index_of, wait_for, write_config

SECRET = "pa55-never-logged"
BASE = "width=320,height=240,fps=15,gop=15,bitrate=300"


@pytest.fixture
def garbage_server() -> Iterator[int]:
    """A TCP server on loopback that answers anything with non-RTSP bytes."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"\x16\x03\x01 this is not RTSP \x00\xff\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()



@pytest.mark.parametrize("ingest", ["ffmpeg", "native"])
def test_camera_variants_recorded_or_reported(
    tmp_path: Path, camera_server: CameraServerFactory, garbage_server: int, ingest: str
) -> None:
    cams = camera_server(f"name=hevc,{BASE},codec=h265", f"name=bframes,{BASE},bframes=2",
                         f"name=audio,{BASE},audio=1", f"name=sdponly,{BASE},sps_in_band=0")
    config = write_config(tmp_path, {
        "hevc": cams.url("hevc"), "bframes": cams.url("bframes"), "audio": cams.url("audio"),
        "sdponly": cams.url("sdponly"), "nopath": cams.url("no-such-camera"),
        "refused": f"rtsp://127.0.0.1:{free_port()}/x", "garbage": f"rtsp://127.0.0.1:{garbage_server}/x",
    }, "segment_duration_s = 4", camera_extra=f'username = "rec"\npassword = "{SECRET}"\ningest = "{ingest}"')
    vigil = VigilProcess(config)
    try:
        def all_recorded() -> bool:
            index = index_of(config)
            return all(len(index.segments(c)) >= 2 for c in ("hevc", "bframes", "audio", "sdponly"))

        wait_for(all_recorded, 40, "two segments from every good camera")
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
    index = index_of(config)
    recordings = tmp_path / "data" / "recordings"
    for camera_id, codec in (("hevc", "hevc"), ("bframes", "h264"), ("audio", "h264"), ("sdponly", "h264")):
        for seg in index.segments(camera_id):
            probe = ffprobe_video(recordings / seg.path)
            assert probe["codec_name"] == codec, (camera_id, probe)
            assert int(probe["nb_read_frames"]) == seg.frame_count, (camera_id, probe, seg)
            assert (seg.width, seg.height) == (320, 240)
            if codec == "hevc":
                assert probe["codec_tag_string"] == "hvc1"  # what browsers and QuickTime accept
    reasons = {c: [e.reason for e in index.events(c) if e.kind == "camera_down"]
               for c in ("nopath", "refused", "garbage")}
    assert reasons == {"nopath": ["not_found"], "refused": ["refused"], "garbage": ["bad_stream"]}, reasons
    log = vigil.log
    assert "camera audio/main: has an audio track (AAC, 48000 Hz)" in log
    assert SECRET not in log
    for camera_id in ("nopath", "refused", "garbage"):
        assert index.segments(camera_id) == []
        assert f"camera {camera_id}/main:" in log  # each problem is reported once, by camera
