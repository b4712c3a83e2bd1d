"""The motion worker fed through a real fan-out: keyframe-only decoding, and skipping (never
blocking) when it falls behind, with the skip recorded."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from vigil.core.errors import DiskFullError
from vigil.core.media import Codec, DownReason, EncodedPacket, SessionEnded, SessionStarted, StreamInfo
from vigil.core.motion import MotionParams
from vigil.ingest.fanout import Fanout
from vigil.motion.worker import MotionWorker
from vigil.record.index import Index
from vigil.record.motion_store import MotionStore

Units = list[tuple[bytes, bool]]


def _worker(tmp: Path, mode: str, max_packets: int) -> tuple[Fanout, MotionWorker, list[tuple[str, str | None]]]:
    index = Index.open(tmp / "index.sqlite3", 0)
    fanout = Fanout()
    events: list[tuple[str, str | None]] = []
    worker = MotionWorker("cam", mode, fanout.subscribe("motion", max_packets), MotionStore(index),
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
    worker = MotionWorker("cam", "substream", fanout.subscribe("motion", 1000), MotionStore(index),
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
