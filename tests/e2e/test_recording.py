"""End to end: real RTSP cameras (GStreamer) on loopback, the real daemon process, ffprobe as judge."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from tests.support.camsim import CameraServerFactory
from tests.support.vigil_proc import (
    VigilProcess,
    ffprobe_video,
    index_of,
    run_vigil,
    segments_of,
    wait_for,
    write_config,
)
from vigil.core.timebase import TICKS_PER_SECOND, ticks_to_ns
from vigil.record.writer import hash_file
from vigil.store.index import Index
from vigil.store.rows import EventRow

CAM = "width=320,height=240,fps=15,gop=15,bitrate=300"


def health_events(index: Index, camera_id: str) -> list[EventRow]:
    """The camera's up/down events (other kinds, like motion_started, share the timeline)."""
    return [e for e in index.events(camera_id) if e.kind in ("camera_up", "camera_down")]
NS = 1_000_000_000


def test_two_cameras_recorded_contiguously_and_verifiably(tmp_path: Path, camera_server: CameraServerFactory) -> None:
    cams = camera_server(f"name=a,{CAM}", f"name=b,{CAM},pattern=ball")
    config = write_config(tmp_path, {"cam-a": cams.url("a"), "cam-b": cams.url("b")}, "segment_duration_s = 6")
    vigil = VigilProcess(config)
    try:
        time.sleep(22)
        stop_wall_ns = time.time_ns()
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
    index = index_of(config)
    for camera_id in ("cam-a", "cam-b"):
        segs = index.segments(camera_id)
        assert len(segs) >= 3, f"{camera_id}: {segs}"
        assert len({s.run_id for s in segs}) == 1
        for seg in segs:
            path = config.parent / "data" / "recordings" / seg.path
            probe = ffprobe_video(path)
            assert probe["codec_name"] == "h264" and (probe["width"], probe["height"]) == ("320", "240")
            assert int(probe["nb_read_frames"]) == seg.frame_count
            assert seg.media_duration_90k is not None
            assert abs(float(probe["duration"]) - seg.media_duration_90k / TICKS_PER_SECOND) < 0.1
            assert hash_file(path) == (seg.size_bytes, seg.sha256)
            assert seg.keyframe_count is not None and seg.keyframe_count >= 1
        # No gaps: each segment starts where the previous one ended, in wall and media time.
        for before, after in itertools.pairwise(segs):
            assert before.end_wall_ns == after.start_wall_ns
            assert before.media_start_90k + (before.media_duration_90k or 0) == after.media_start_90k
        # The recorded duration covers the wall time from the first frame to the stop, within one GOP.
        recorded_ns = sum(ticks_to_ns(s.media_duration_90k or 0) for s in segs)
        assert abs((stop_wall_ns - segs[0].start_wall_ns) - recorded_ns) <= 1 * NS
        assert segs[0].start_wall_ns - vigil.started_wall_ns < 5 * NS
        assert [e.kind for e in health_events(index, camera_id)] == ["camera_up"]
    fsck = run_vigil("fsck", "--config", str(config))
    assert fsck.returncode == 0, fsck.stdout
    listing = run_vigil("segments", "--config", str(config), "--camera", "cam-a", "--json")
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == len(index.segments("cam-a"))


@pytest.mark.parametrize("ingest", ["ffmpeg", "native"])
def test_camera_outage_is_a_gap_with_reason_and_spares_other_cameras(
    tmp_path: Path, camera_server: CameraServerFactory, ingest: str
) -> None:
    flaky = camera_server(f"name=a,{CAM}")
    steady = camera_server(f"name=b,{CAM}")
    config = write_config(tmp_path, {"cam-a": flaky.url("a"), "cam-b": steady.url("b")}, "segment_duration_s = 4",
                          camera_extra=f'ingest = "{ingest}"')
    vigil = VigilProcess(config)
    try:
        wait_for(lambda: len(segments_of(config, "cam-a")) >= 1, 20, "a first segment of cam-a")
        flaky.stop()
        down_wall_ns = time.time_ns()
        time.sleep(6)
        flaky.start()
        back_wall_ns = time.time_ns()
        wait_for(lambda: len([e for e in index_of(config).events("cam-a") if e.kind == "camera_up"]) >= 2, 10,
                 "cam-a to come back")
        time.sleep(3)
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
    index = index_of(config)
    events = health_events(index, "cam-a")
    kinds = [e.kind for e in events]
    assert kinds[:3] == ["camera_up", "camera_down", "camera_up"], events
    down, up = events[1], events[2]
    assert down.reason in ("ended", "refused", "timeout"), down
    assert down.wall_ns - down_wall_ns < 5 * NS
    assert up.wall_ns - back_wall_ns < 5 * NS, "reconnect within 5 s of the camera's return"
    assert up.detail is not None and up.detail.startswith("down for")
    segs = index.segments("cam-a")
    runs = sorted({s.run_id for s in segs})
    assert len(runs) == 2
    first_run_end = max(s.end_wall_ns or 0 for s in segs if s.run_id == runs[0])
    second_run_start = min(s.start_wall_ns for s in segs if s.run_id == runs[1])
    assert second_run_start - first_run_end > 4 * NS  # the gap is visible in the index
    run_end = index.conn.execute("SELECT end_reason FROM runs WHERE id = ?", (runs[0],)).fetchone()[0]
    assert run_end == down.reason
    # The other camera never noticed.
    assert [e.kind for e in health_events(index, "cam-b")] == ["camera_up"]
    b = index.segments("cam-b")
    assert len({s.run_id for s in b}) == 1
    assert all(x.end_wall_ns == y.start_wall_ns for x, y in itertools.pairwise(b))


def test_kill_9_mid_segment_loses_at_most_two_seconds(tmp_path: Path, camera_server: CameraServerFactory) -> None:
    cams = camera_server(f"name=a,{CAM}")
    config = write_config(tmp_path, {"cam-a": cams.url("a")}, "segment_duration_s = 60")
    vigil = VigilProcess(config)
    try:
        wait_for(lambda: bool(index_of(config).segments("cam-a", state="open")), 20, "an open segment")
        time.sleep(8)
        killed_wall_ns = time.time_ns()
        vigil.kill9()
    finally:
        vigil.close()
    assert index_of(config).segments("cam-a") == []  # nothing was complete yet
    again = VigilProcess(config)
    try:
        wait_for(lambda: len(index_of(config).segments("cam-a", state="open")) == 1
                 and len(index_of(config).segments("cam-a")) == 1, 20, "recovery and a new segment")
        assert again.terminate() == 0, again.log
    finally:
        again.close()
    assert "recovery: kept" in again.log
    segs = index_of(config).segments("cam-a")
    recovered = segs[0]
    assert recovered.recovered and recovered.cut_reason == "crash"
    assert recovered.end_wall_ns is not None
    lost_ns = killed_wall_ns - recovered.end_wall_ns
    assert lost_ns <= 2 * NS, f"lost {lost_ns / NS:.2f} s"
    probe = ffprobe_video(config.parent / "data" / "recordings" / recovered.path)
    assert int(probe["nb_read_frames"]) == recovered.frame_count
    assert len({s.run_id for s in segs}) == 2
    fsck = run_vigil("fsck", "--config", str(config))
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert "0 problems" in fsck.stdout
