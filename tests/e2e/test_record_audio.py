"""record_audio end to end: a real RTSP camera with an AAC track (GStreamer sim), the real daemon,
ffprobe as judge. Segments carry the sound only where record_audio is on (G.711 as AAC); a clip (over the API)
and a signed export carry it and the export verifies; a kill -9 mid-segment recovers both tracks."""

from __future__ import annotations

import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from tests.e2e.test_exports_e2e import Appliance, _add_user, _export
from tests.support.camsim import CameraServer
from tests.support.http_call import free_port
from tests.support.vigil_proc import VigilProcess, index_of, run_vigil, wait_for
from vigil.core.timebase import TICKS_PER_SECOND

CONFIG = """
[storage]
path = "{data}"
min_free_bytes = 0
segment_duration_s = 3
[http]
listen = "127.0.0.1:{port}"
tls = false
[[buildings]]
id = "hs"
name = "High School"
[[cameras]]
id = "with-audio"
building = "hs"
url = "{url}"
timeout_s = 3
record_audio = true
[[cameras]]
id = "without"
building = "hs"
url = "{url}"
timeout_s = 3
[[cameras]]
id = "g711"
building = "hs"
url = "{g711_url}"
timeout_s = 3
record_audio = true
"""


def streams(path: Path) -> dict[str, float]:
    """codec name -> duration (s) of each stream an independent demuxer finds."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,duration", "-of", "csv=p=0",
                          str(path)], capture_output=True, text=True, check=True).stdout.split()
    return {name: float(duration) for name, duration in (line.split(",") for line in out)}


def decodes_cleanly(path: Path) -> None:
    done = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@pytest.mark.slow
def test_record_audio_segments_clip_export_and_crash(tmp_path: Path) -> None:
    port = free_port()
    with CameraServer("name=a,width=320,height=240,fps=15,gop=15,bitrate=300,audio=aac",
                      "name=b,width=320,height=240,fps=15,gop=15,bitrate=300,audio=pcma") as cams:
        config = tmp_path / "vigil.toml"
        config.write_text(CONFIG.format(data=tmp_path / "data", port=port, url=cams.url("a"), g711_url=cams.url("b")))
        app = Appliance(f"http://127.0.0.1:{port}", {"root": _add_user(config, "root", "district_admin")},
                        config, tmp_path)
        recordings = tmp_path / "data" / "recordings"
        vigil = VigilProcess(config)
        try:
            wait_for(lambda: len(app.complete_segments("with-audio")) >= 3 and len(app.complete_segments("without"))
                     >= 1, 40, "recorded segments")
            segs = app.complete_segments("with-audio")[:3]
            for seg in segs:  # the sound is in every segment, as long as its pictures
                found = streams(recordings / seg.path)
                assert set(found) == {"h264", "aac"}, (seg.path, found)
                assert seg.media_duration_90k is not None
                assert abs(found["aac"] - seg.media_duration_90k / TICKS_PER_SECOND) < 0.5, (seg.path, found)
            assert set(streams(recordings / app.complete_segments("without")[0].path)) == {"h264"}
            # Its run's first segment too, though its first audio frame may come after its first picture.
            wait_for(lambda: len(app.complete_segments("g711")) >= 1, 10, "a segment of the G.711 camera")
            g711 = app.complete_segments("g711")[0]
            found = streams(recordings / g711.path)  # the MP4 muxer takes no G.711: recorded as AAC
            assert set(found) == {"h264", "aac"} and g711.media_duration_90k is not None, found
            assert abs(found["aac"] - g711.media_duration_90k / TICKS_PER_SECOND) < 0.5, found

            # A clip over the API across the three segments: both tracks, as long as each other.
            assert segs[2].end_wall_ns is not None
            start_s, end_s = segs[0].start_wall_ns / 1e9, segs[2].end_wall_ns / 1e9
            status, raw, _ = app.call("GET", f"/api/cameras/with-audio/clip.mp4?start={start_s:.3f}&end={end_s:.3f}")
            assert status == 200, raw[:300]
            (tmp_path / "clip.mp4").write_bytes(raw)
            found = streams(tmp_path / "clip.mp4")
            assert set(found) == {"h264", "aac"} and abs(found["aac"] - found["h264"]) < 0.5, found
            decodes_cleanly(tmp_path / "clip.mp4")

            # A signed export: its clip carries the sound and the package verifies.
            row = _export(app, {"cameras": ["with-audio"], "start": f"{start_s + 0.5:.3f}", "end": f"{end_s - 0.3:.3f}",
                                "reason": "record_audio test"})
            status, raw, _ = app.call("GET", row["download"])
            assert status == 200
            (tmp_path / "export.zip").write_bytes(raw)
            with zipfile.ZipFile(tmp_path / "export.zip") as zf:
                (tmp_path / "exported.mp4").write_bytes(zf.read("with-audio.mp4"))
            assert set(streams(tmp_path / "exported.mp4")) == {"h264", "aac"}
            verified = run_vigil("verify", str(tmp_path / "export.zip"))
            assert verified.returncode == 3, verified.stdout + verified.stderr  # intact; no --key given

            # kill -9 with a segment open: its complete fragments come back with both tracks.
            opened = {s.id for s in index_of(config).segments("with-audio", state="open")}
            wait_for(lambda: {s.id for s in index_of(config).segments("with-audio", state="open")} - opened
                     != set(), 10, "a new open segment")
            time.sleep(1.8)  # inside it (3 s segments): a fragment is complete every second
            crashed = [s for s in index_of(config).segments("with-audio", state="open")]
            vigil.kill9()
        finally:
            vigil.close()
        again = VigilProcess(config)
        try:
            wait_for(lambda: any(s.recovered for s in index_of(config).segments("with-audio")), 20, "recovery")
            assert again.terminate() == 0, again.log
        finally:
            again.close()
    recovered = [s for s in index_of(config).segments("with-audio") if s.recovered]
    assert [s.id for s in recovered] == [s.id for s in crashed] and recovered[0].cut_reason == "crash"
    found = streams(recordings / recovered[0].path)
    assert set(found) == {"h264", "aac"}, found
    assert recovered[0].media_duration_90k is not None
    assert abs(found["aac"] - recovered[0].media_duration_90k / TICKS_PER_SECOND) < 0.5, found
    decodes_cleanly(recordings / recovered[0].path)
    fsck = run_vigil("fsck", "--config", str(config))
    assert fsck.returncode == 0 and "0 problems" in fsck.stdout, fsck.stdout + fsck.stderr
