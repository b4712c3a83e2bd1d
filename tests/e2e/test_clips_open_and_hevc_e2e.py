"""Clips and exports with cameras unlike the default simulators (issue 12, #11 and #12), from the
real daemon recording real RTSP cameras; ffprobe/ffmpeg and `vigil verify` judge the results.

- cam-m: H.264 main profile with B-frames and a 2 s GOP. A clip starting inside the segment still
  being written holds its complete fragments; an export reaching into it is told when it can be
  exported (409 with Retry-After), and can be then.
- cam-h: H.265 with AAC audio (audio is not recorded). The camera's first IDR carries the parameter
  sets twice, so the run's first segment had each three times in its hvcC and later ones twice,
  and clips and exports stopped at the first segment boundary ("codec-change"). Sample entries
  are now compared by what decodes, and the writer keeps each set once: clips and exports run
  through every segment of the run."""

from __future__ import annotations

import json
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest

from tests.support.camsim import CameraServer
from tests.support.clip_recordings import hvcc_copies
from tests.support.http_call import call, free_port
from tests.support.media_judge import decode_errors, probe
from tests.support.vigil_proc import VigilProcess, index_of, run_vigil, vigil_stdin, wait_for, write_config
from vigil.clips.segment_file import read_segment_file
from vigil.core.timebase import NS_PER_SECOND, parse_time_ns, ticks_to_ns, wall_ns_to_iso
from vigil.store.rows import SegmentRow

pytestmark = pytest.mark.slow  # about a minute and a half: a daemon, two cameras, several segments

S = NS_PER_SECOND
BASE = "width=320,height=240,fps=15,bitrate=300"
SEGMENT_S = 8


@dataclass
class Daemon:
    base_url: str
    token: str
    ca: Path
    config: Path

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        return call(self.base_url + path, method, data, headers, cafile=self.ca, timeout_s=60)

    def segments(self, camera_id: str, state: str | None = "complete") -> list[SegmentRow]:
        return index_of(self.config).segments(camera_id, state=state)

    def path(self, segment: SegmentRow) -> Path:
        return self.config.parent / "data" / "recordings" / segment.path


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("clip-variants")
    port = free_port()
    with CameraServer(f"name=m,{BASE},gop=30,bframes=2", f"name=h,{BASE},gop=15,codec=h265,audio=aac") as cams:
        config = write_config(tmp, {"cam-m": cams.url("m"), "cam-h": cams.url("h")},
                              f'segment_duration_s = {SEGMENT_S}\n[http]\nlisten = "127.0.0.1:{port}"')
        added = vigil_stdin("clip variants admin password\n", "user", "add", "admin", "--role", "district_admin",
                            "--password-stdin", "--config", str(config))
        assert added.returncode == 0, added.stderr
        token = run_vigil("token", "create", "admin", "--config", str(config)).stdout.strip()
        vigil = VigilProcess(config)
        try:
            ca = tmp / "data" / "tls" / "cert.pem"
            wait_for(ca.exists, 20, "the TLS certificate")
            d = Daemon(f"https://127.0.0.1:{port}", token, ca, config)
            wait_for(lambda: len(d.segments("cam-m")) >= 1 and len(d.segments("cam-h")) >= 3, 120,
                     "a complete segment of cam-m and three of cam-h")
            yield d
            assert vigil.terminate() == 0, vigil.log
        finally:
            vigil.close()


def iso_ms(wall_ns: int) -> str:
    return wall_ns_to_iso(wall_ns // 1_000_000 * 1_000_000)


def clip_path(camera_id: str, start_ns: int, end_ns: int) -> str:
    return f"/api/cameras/{camera_id}/clip.mp4?start={iso_ms(start_ns)}&end={iso_ms(end_ns)}"


def packets(path: Path) -> list[tuple[bytes, int, int]]:
    """(bytes, pts, dts) of every video packet, in file order (PyAV: FFmpeg's demuxer)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        first: int | None = None
        out = []
        for p in container.demux(stream):
            if p.size and p.pts is not None and p.dts is not None:
                first = p.dts if first is None else first
                out.append((bytes(p), p.pts - first, p.dts - first))
        return out


def frame_walls(d: Daemon, segment: SegmentRow) -> list[int]:
    """Wall time of every frame of a segment file (decode order), by ffprobe."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=dts_time",
                          "-of", "csv=p=0", str(d.path(segment))], capture_output=True, text=True, check=True).stdout
    return [segment.start_wall_ns + round(float(t) * S) for t in out.split()]


def open_segment(d: Daemon, camera_id: str, written_s: float) -> SegmentRow:
    """The camera's segment being written, once it holds at least `written_s` seconds."""
    found: list[SegmentRow] = []

    def ready() -> bool:
        rows = d.segments(camera_id, state="open")
        found[:] = rows
        return bool(rows) and time.time_ns() >= rows[-1].start_wall_ns + int(written_s * S)

    wait_for(ready, 3 * SEGMENT_S, f"{written_s} s into an open segment of {camera_id}")
    return found[-1]


def written_until(d: Daemon, segment: SegmentRow) -> int:
    """Wall time the complete fragments of a segment being written reach, read from its file now."""
    last = read_segment_file(d.path(segment)).fragments[-1].info
    return segment.start_wall_ns + ticks_to_ns(last.decode_start_90k + sum(last.sample_durations_90k))


def still_open(d: Daemon, segment_id: int) -> bool:
    return any(s.id == segment_id for s in d.segments("cam-m", state="open"))


def test_clip_starting_inside_the_segment_being_written(daemon: Daemon, tmp_path: Path) -> None:
    """#11: 200 with the footage up to the last complete fragment (was 404 "nothing recorded")."""
    for _ in range(3):  # the segment must still be open after the answer, or the test proves nothing: again
        seg = open_segment(daemon, "cam-m", 4.0)
        written_before = written_until(daemon, seg)
        start, end = seg.start_wall_ns + int(1.5 * S), time.time_ns() + 30 * S  # to half a minute from now
        status, body, headers = daemon.request("GET", clip_path("cam-m", start, end))
        written_after = written_until(daemon, seg)
        if still_open(daemon, seg.id):
            break
    else:
        pytest.fail("the open segment closed during each request; none was tested")
    assert status == 200, body[:300]
    assert headers["Vigil-Clip-Segments"] == str(seg.id)
    clip = tmp_path / "open.mp4"
    clip.write_bytes(body)
    first, last = parse_time_ns(headers["Vigil-Clip-Start"]), parse_time_ns(headers["Vigil-Clip-End"])
    assert first == iso_floor(seg.start_wall_ns)  # the keyframe before start: the segment's first (2 s GOP)
    # Up to the last fragment complete when the clip was planned (one per keyframe, at least every second).
    assert iso_floor(written_before) <= last <= written_after and written_before > start
    assert headers["Vigil-Gaps"].split("/")[0] == headers["Vigil-Clip-End"]  # the rest is not written yet
    info = probe(clip)
    assert (info["codec_name"], info["codec_tag_string"]) == ("h264", "avc1")
    assert int(info["nb_read_frames"]) == int(headers["Vigil-Clip-Frames"])
    assert abs(float(info["duration"]) - (last - first) / S) < 0.2
    assert decode_errors(clip) == ""
    # Its frames are the first ones of the segment once finished, byte for byte (B-frames reordered alike).
    wait_for(lambda: not still_open(daemon, seg.id), 4 * SEGMENT_S, "the segment to be closed")
    done = next(s for s in daemon.segments("cam-m") if s.id == seg.id)
    got, recorded = packets(clip), packets(daemon.path(done))
    assert len(got) == int(info["nb_read_frames"]) and got == recorded[:len(got)] and len(recorded) > len(got)
    assert any(pts != dts for _, pts, dts in got)  # the camera really sends B-frames
    # The timeline says it was recorded, and so does the clip: they agree.
    status, raw, _ = daemon.request("GET", f"/api/cameras/cam-m/timeline?start={iso_ms(start)}&end={iso_ms(last)}")
    spans = json.loads(raw)["recorded"]
    assert status == 200 and spans[0]["start_wall_ns"] <= start and spans[-1]["end_wall_ns"] >= last - S


def _export(d: Daemon, camera_id: str, start_ns: int, end_ns: int, reason: str) -> tuple[int, Any, dict[str, str]]:
    status, raw, headers = d.request("POST", "/api/exports", {
        "cameras": [camera_id], "start": f"{start_ns / S:.3f}", "end": f"{end_ns / S:.3f}", "reason": reason})
    return status, json.loads(raw), headers


def _finished(d: Daemon, export_id: int, tmp: Path) -> Path:
    def done() -> bool:
        status, raw, _ = d.request("GET", f"/api/exports/{export_id}")
        row = json.loads(raw)
        assert status == 200 and row["state"] != "failed", row
        return bool(row["state"] == "done")

    wait_for(done, 120, f"export {export_id}")
    status, raw, _ = d.request("GET", f"/api/exports/{export_id}/download")
    assert status == 200
    package = tmp / f"export-{export_id}.zip"
    package.write_bytes(raw)
    verified = run_vigil("verify", str(package))
    assert verified.returncode == 3 and verified.stdout.startswith("INTACT"), verified.stdout  # no --key: exit 3
    return package


def test_export_reaching_into_the_segment_being_written_says_when(daemon: Daemon, tmp_path: Path) -> None:
    """#11: not "nothing was recorded" but 409, when it can be exported, and Retry-After; and it
    can be exported then."""
    seg = open_segment(daemon, "cam-m", 2.5)
    start, end = seg.start_wall_ns + S // 2, seg.start_wall_ns + 2 * S  # inside the open segment only
    status, problem, headers = _export(daemon, "cam-m", start, end, "incident in the last minute")
    if not still_open(daemon, seg.id):
        pytest.fail("the segment closed before the export was answered: nothing was tested")
    assert status == 409, problem
    assert "nothing" not in problem["detail"] and "still writing the footage from" in problem["detail"]
    retry_after_s = int(headers["Retry-After"])
    assert 0 < retry_after_s <= SEGMENT_S + 10
    promised = parse_time_ns(problem["detail"].split("exported from about ")[1].split(" ")[0])
    assert promised >= time.time_ns() - S  # a time to come, which the segment's closing keeps:
    wait_for(lambda: not still_open(daemon, seg.id), 4 * SEGMENT_S, "the segment to be closed", interval_s=0.1)
    assert time.time_ns() <= promised
    time.sleep(max(0.0, (promised - time.time_ns()) / S))
    status, created, _ = _export(daemon, "cam-m", start, end, "incident in the last minute")
    assert status == 202, created
    with zipfile.ZipFile(_finished(daemon, created["id"], tmp_path)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert [s["segment_id"] for s in manifest["segments"]] == [seg.id] and manifest["gaps"] == []


def test_h265_clip_and_export_span_the_segments_of_a_run(daemon: Daemon, tmp_path: Path) -> None:
    """#12: no false codec-change at the first segment boundary; ffprobe sees the whole range."""
    segs = daemon.segments("cam-h")
    run = [s for s in segs if s.run_id == segs[0].run_id][:3]
    assert [s.seq for s in run] == [0, 1, 2]
    start, end = run[0].start_wall_ns + S // 2, (run[2].end_wall_ns or 0) - S // 2
    status, body, headers = daemon.request("GET", clip_path("cam-h", start, end))
    assert status == 200, body[:300]
    assert "Vigil-Clip-Stopped" not in headers and len(headers["Vigil-Clip-Segments"].split(",")) == 3
    clip = tmp_path / "hevc.mp4"
    clip.write_bytes(body)
    info = probe(clip)
    assert (info["codec_name"], info["codec_tag_string"]) == ("hevc", "hvc1")
    first = run[0].start_wall_ns  # keyframe at or before start (1 s GOP): the segment's first
    recorded = [t for s in run for t in frame_walls(daemon, s) if first <= t < iso_floor(end)]
    assert int(info["nb_read_frames"]) == int(headers["Vigil-Clip-Frames"]) == len(recorded)
    assert abs(float(info["duration"]) - (iso_floor(end) - first) / S) < 0.2
    assert decode_errors(clip) == ""
    # The camera's first IDR carries the sets twice (what the issue found: the first segment's hvcC
    # had each three times, later ones twice); and each is now in every segment's hvcC once.
    files = [read_segment_file(daemon.path(s)) for s in run]
    assert [hvcc_copies(f.moov) for f in files] == [{32: 1, 33: 1, 34: 1}] * 3
    assert len({f.moov for f in files}) == 1
    # Exports are cut the same way: the package's clip holds the three segments, and verifies.
    status, created, _ = _export(daemon, "cam-h", start, end, "hevc export")
    assert status == 202, created
    with zipfile.ZipFile(_finished(daemon, created["id"], tmp_path)) as zf:
        camera = json.loads(zf.read("manifest.json"))["cameras"][0]
        (tmp_path / "package-clip.mp4").write_bytes(zf.read(camera["clip"]["file"]))
    assert camera["clip"]["stopped_at_wall_ns"] is None and camera["clip"]["frame_count"] == len(recorded)
    assert int(probe(tmp_path / "package-clip.mp4")["nb_read_frames"]) == len(recorded)


def iso_floor(wall_ns: int) -> int:
    """A time as the ISO query parameter carries it (milliseconds)."""
    return wall_ns // 1_000_000 * 1_000_000
