"""The motion worker fed through a real fan-out: keyframe-only decoding, skipping (never
blocking) when it falls behind, with the skip recorded, and sample times on streams encoded
like real cameras' (B-frames, 2 s GOPs)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import av
import pytest

from vigil.core.camera_modes import MotionMode
from vigil.core.errors import DiskFullError
from vigil.core.media import Codec, DownReason, EncodedPacket, SessionEnded, SessionStarted, StreamInfo
from vigil.core.media_clock import MediaClock
from vigil.core.motion import MotionParams
from vigil.core.motion_intervals import MotionInterval
from vigil.core.timebase import NS_PER_SECOND, ticks_to_ns
from vigil.ingest.fanout import Fanout
from vigil.motion.worker import MotionWorker
from vigil.sim.scenes import Mover, Scene, render_scene
from vigil.store.index import Index
from vigil.store.motion import MotionStore

Units = list[tuple[bytes, bool]]


def _worker(tmp: Path, mode: str, max_packets: int) -> tuple[Fanout, MotionWorker, list[tuple[str, str | None]]]:
    index = Index.open(tmp / "index.sqlite3", 0)
    fanout = Fanout()
    events: list[tuple[str, str | None]] = []
    worker = MotionWorker("cam", MotionMode(mode), fanout.subscribe("motion", max_packets), MotionStore(index),
                          MotionParams(), lambda kind, wall, reason, detail: events.append((kind, detail)))
    return fanout, worker, events


def _feed(fanout: Fanout, units: Units, first: int = 0) -> None:
    for n, (data, key) in enumerate(units, start=first):
        fanout.publish(EncodedPacket(data, n * 6000, n * 6000, key, n * 66_666_667))


def test_keyframe_mode_decodes_one_sample_per_gop(tmp_path: Path, h264_units: Units) -> None:
    fanout, worker, events = _worker(tmp_path, "keyframes", 1000)
    thread = threading.Thread(target=worker.run)
    thread.start()
    fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), 0))
    _feed(fanout, h264_units)
    fanout.publish(SessionEnded(DownReason.ENDED, 0))
    fanout.close()
    thread.join(10)
    assert worker.samples_scored == sum(key for _, key in h264_units) == 4
    assert events == [("motion_started", "keyframes")] and worker.decode_errors == 0


def test_falling_behind_skips_and_says_so(tmp_path: Path, h264_units: Units) -> None:
    fanout, worker, events = _worker(tmp_path, "substream", 10)
    fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), 0))
    start = time.monotonic()
    _feed(fanout, h264_units)  # the worker is not running: the camera side must not wait for it
    assert time.monotonic() - start < 1.0
    thread = threading.Thread(target=worker.run)
    thread.start()
    time.sleep(0.5)
    _feed(fanout, h264_units[:15], first=len(h264_units))  # a new GOP: the subscription resyncs here
    fanout.close()
    thread.join(10)
    assert worker.packets_skipped == len(h264_units) - 10
    assert ("motion_skipped", f"{len(h264_units) - 10} packets not analysed") in events
    assert worker.samples_scored >= 3  # 5 per second over the 25 frames it did get


T0_NS = 1_800_000_000 * NS_PER_SECOND  # the wall time of the scene's first frame


def _camera_packets(clip: Path) -> list[EncodedPacket]:
    """A clip's packets as a camera session delivers them: Annex-B access units in decode order,
    timestamps normalized by the ingest's MediaClock, each received at its decode time."""
    clock, out = MediaClock(), []
    with av.open(str(clip)) as container:
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                stamped = clock.stamp(packet.dts, packet.pts, 0)
                out.append(EncodedPacket(bytes(packet), stamped.dts_90k, stamped.pts_90k, packet.is_keyframe,
                                         T0_NS + ticks_to_ns(stamped.dts_90k)))
    return out


def _analyse(tmp: Path, scene: Scene, gop: int, bframes: int, mode: str = "keyframes",
             ) -> tuple[MotionWorker, list[MotionInterval], int]:
    """(worker, intervals found, keyframes sent) for the scene at 320x180, 15 fps."""
    clip = render_scene(scene, tmp / "scene.ts", width=320, height=180, fps=15, gop=gop, bitrate_kbps=400,
                        bframes=bframes)
    packets = _camera_packets(clip)
    assert (max(p.pts_90k - p.dts_90k for p in packets) > 0) == (bframes > 0)  # B-frames reorder
    fanout, worker, _ = _worker(tmp, mode, len(packets) + 10)
    thread = threading.Thread(target=worker.run)
    thread.start()
    fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 180, b""), T0_NS))
    for packet in packets:
        fanout.publish(packet)
    fanout.publish(SessionEnded(DownReason.ENDED, packets[-1].received_wall_ns))
    fanout.close()
    thread.join(30)
    found = worker.store.intervals("cam", 0, T0_NS + 3600 * NS_PER_SECOND)
    return worker, found, sum(p.is_keyframe for p in packets)


def _seconds(intervals: list[MotionInterval]) -> list[tuple[float, float]]:
    return [(round((i.start_wall_ns - T0_NS) / NS_PER_SECOND, 2), round((i.end_wall_ns - T0_NS) / NS_PER_SECOND, 2))
            for i in intervals]


def test_keyframe_samples_keep_their_own_time_with_b_frames(tmp_path: Path) -> None:
    """With B-frames the decoder returns each keyframe two keyframes later; the sample still
    falls at its own keyframe, and the pictures still held at the end of the session count."""
    scene = Scene(seconds=12.0, movers=(Mover(4.5, 8.5, y_frac=0.6, size_frac=0.1),))
    worker, found, keyframes = _analyse(tmp_path, scene, gop=15, bframes=2)
    assert worker.samples_scored == keyframes and worker.decode_errors == 0
    assert len(found) == 1, _seconds(found)
    (start_s, end_s), = _seconds(found)
    # The first keyframe that sees the mover is at 5 s (one GOP after it appeared at 4.5 s): its
    # packet arrives up to two frames before its picture is shown.
    assert 4.5 - 0.2 <= start_s <= 4.5 + 1.0, (start_s, end_s)
    assert 8.5 - 0.2 <= end_s <= 8.5 + 2.0, (start_s, end_s)


def test_substream_samples_are_at_their_pictures_time_with_b_frames(tmp_path: Path) -> None:
    """Every decoded frame is analysed in substream mode; the decoder returns each two frames
    late. The mover appears at 4 s, a frame that is scored (5 per second): the interval starts
    at 4 s on the dot, not when the packets after it arrived."""
    scene = Scene(seconds=8.0, movers=(Mover(4.0, 6.0, y_frac=0.6, size_frac=0.1),))
    worker, found, _ = _analyse(tmp_path, scene, gop=15, bframes=2, mode="substream")
    assert worker.decode_errors == 0 and worker.samples_scored == 8 * 5
    assert len(found) == 1, _seconds(found)
    assert abs(found[0].start_wall_ns - (T0_NS + 4 * NS_PER_SECOND)) < NS_PER_SECOND // 30, _seconds(found)


def test_one_movement_with_2_s_keyframes_is_one_interval(tmp_path: Path) -> None:
    """Keyframes 2 s apart and 8 s of continuous movement: one interval, not back-to-back pieces."""
    scene = Scene(seconds=18.0, movers=(Mover(4.0, 12.0, y_frac=0.6, size_frac=0.1),))
    worker, found, keyframes = _analyse(tmp_path, scene, gop=30, bframes=0)
    assert worker.samples_scored == keyframes == 9
    assert len(found) == 1, _seconds(found)
    (start_s, end_s), = _seconds(found)
    assert 4.0 - 0.1 <= start_s <= 4.0 + 2.0 and 12.0 - 0.1 <= end_s <= 12.0 + 2.0 + 0.1, (start_s, end_s)
    assert worker.tracker.hold_ns == 3 * NS_PER_SECOND  # 1.5 sample spacings of 2 s


def test_keyframe_mode_scores_each_keyframe_as_it_arrives_with_b_frames(tmp_path: Path) -> None:
    """The decoder would hold two keyframes back; the worker takes each picture at once."""
    scene = Scene(seconds=3.0, movers=())
    clip = render_scene(scene, tmp_path / "scene.ts", width=320, height=180, fps=15, gop=15, bitrate_kbps=400,
                        bframes=2)
    packets = _camera_packets(clip)
    fanout, worker, _ = _worker(tmp_path, "keyframes", len(packets) + 10)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 180, b""), T0_NS))
        for packet in packets:
            fanout.publish(packet)
        deadline = time.monotonic() + 10
        while worker.samples_scored < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.samples_scored == sum(p.is_keyframe for p in packets) == 3  # the session is still on
    finally:
        fanout.close()
        thread.join(30)


def test_a_full_index_drops_motion_data_and_the_worker_goes_on(tmp_path: Path, h264_units: Units) -> None:
    """Issue 12 #3, same class: a full index (SQLite's own SQLITE_FULL) must not end the worker's
    thread, whose end would end the daemon's TaskGroup."""
    index = Index.open(tmp_path / "index.sqlite3", 0)
    pages = int(index.query("PRAGMA page_count")[0][0])
    index.conn.execute(f"PRAGMA max_page_count = {pages + 4}")
    with pytest.raises(DiskFullError):  # motion_seconds full to its last row of the worker's size
        for n in range(100_000):
            with index.transaction() as c:
                c.execute("INSERT INTO motion_seconds (camera_id, second, score_milli, heatmap) VALUES (?, ?, 1, ?)",
                          ("fill", n, bytes(256)))
    fanout = Fanout()
    worker = MotionWorker("cam", MotionMode.SUBSTREAM, fanout.subscribe("motion", 1000), MotionStore(index),
                          MotionParams(), lambda kind, wall, reason, detail: None)
    failures: list[BaseException] = []

    def body() -> None:
        try:
            worker.run()
        except BaseException as error:  # what would reach the daemon's TaskGroup
            failures.append(error)

    thread = threading.Thread(target=body)
    thread.start()
    fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), 0))
    _feed(fanout, h264_units)
    fanout.publish(SessionEnded(DownReason.ENDED, 0))
    fanout.close()
    thread.join(10)
    assert failures == [] and worker.samples_scored > 0
    assert worker.index_full_drops >= 1  # the motion data that met the full index was dropped, and said so
