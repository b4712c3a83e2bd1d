"""A busy index (issue 12, #6), with a real second SQLite connection holding `BEGIN EXCLUSIVE`:
calls wait a bounded time and raise IndexBusyError; reads go on; the recorder keeps writing files
and indexes them in order once the lock is gone; a write queue that overflowed, or a process that
stopped before it could catch up, leaves files that startup recovery indexes."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from vigil.core.camera_modes import Stream
from vigil.core.errors import IndexBusyError, http_status
from vigil.core.index_wait import IndexWaitPolicy
from vigil.core.media import Codec, DownReason, EncodedPacket, SessionEnded, SessionStarted, StreamInfo
from vigil.core.rotation import RotationPolicy
from vigil.ingest.fanout import Fanout
from vigil.record import recorder as recorder_module
from vigil.record.fsck import fsck
from vigil.record.recorder import Recorder
from vigil.record.recovery import recover
from vigil.record.storage import open_storage_dir
from vigil.store.index import Index

Units = list[tuple[bytes, bool]]
WALL0 = 1_800_000_000 * 10**9
FAST = IndexWaitPolicy(loop_wait_s=1.0, loop_probe_wait_s=0.0, thread_wait_s=0.3, attempt_wait_s=0.05)


class Harness:
    """A recorder thread with 1 s segments fed through a real fan-out (as in test_recorder.py)."""

    def __init__(self, tmp: Path) -> None:
        self.index = Index.open(tmp / "index.sqlite3", WALL0)
        with self.index.transaction() as c:
            self.storage = open_storage_dir(c, tmp / "rec", require_mount=False)
        self.fanout = Fanout()
        self.recorder = Recorder("cam", Stream.MAIN, self.fanout.subscribe("rec", max_packets=1000), self.index,
                                 self.storage, RotationPolicy(target_90k=90_000), lambda: WALL0)
        self.thread = threading.Thread(target=self.recorder.run)

    def start(self, units: Units) -> None:
        self.thread.start()
        self.fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), WALL0))
        for n, (data, key) in enumerate(units):
            self.fanout.publish(EncodedPacket(data, n * 6000, n * 6000, key, WALL0 + n * 6000 * 100_000 // 9))
        deadline = time.monotonic() + 10
        while len(self.recorder.sub) and time.monotonic() < deadline:
            time.sleep(0.01)

    def finish(self) -> None:
        self.fanout.publish(SessionEnded(DownReason.ENDED, WALL0))
        self.fanout.close()
        self.thread.join(10)
        assert self.recorder.finished.is_set()


def frames(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another process's view: a connection of its own holding the write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_calls_wait_their_budget_then_raise_busy_and_reads_go_on(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    index = Index.open(path, WALL0)
    index.wait = FAST
    index.add_event("cam", "camera_up", WALL0)
    with locked(path):
        started = time.monotonic()
        with pytest.raises(IndexBusyError, match="locked by another process") as busy:
            index.add_event("cam", "camera_down", WALL0 + 1)
        assert 0.25 <= time.monotonic() - started < 5
        assert http_status(busy.value) == 503 and busy.value.retry_after_s == FAST.retry_after_s
        assert [e.kind for e in index.events("cam")] == ["camera_up"]  # reads are not blocked
    index.add_event("cam", "camera_down", WALL0 + 1)
    assert [e.kind for e in index.events("cam")] == ["camera_up", "camera_down"]


def test_on_the_event_loop_a_busy_index_costs_one_budget_then_a_probe(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    index = Index.open(path, WALL0)
    index.wait = FAST

    async def attempt() -> float:
        started = time.monotonic()
        with pytest.raises(IndexBusyError):
            index.add_event(None, "x", WALL0)
        return time.monotonic() - started

    with locked(path):
        first = asyncio.run(attempt())
        second = asyncio.run(attempt())
    assert first >= 0.9  # the loop's budget, not the thread budget (0.3 s) nor SQLite's default
    assert second < 0.5  # found busy a moment ago: it only probes
    index.add_event(None, "x", WALL0)  # a success ends the probing
    assert asyncio.run(asyncio.to_thread(lambda: index.wait.loop_wait(time.monotonic(), None))) == 1.0


def test_recorder_keeps_writing_and_indexes_in_order_after_the_lock(tmp_path: Path, h264_units: Units) -> None:
    h = Harness(tmp_path)
    h.index.wait = FAST
    index_path = tmp_path / "index.sqlite3"
    with locked(index_path):
        h.start(h264_units)
        time.sleep(0.3)
        assert h.recorder.index_writes.queued > 0
        assert not h.recorder.finished.is_set(), "the recorder thread is alive"
        assert h.index.segments("cam") == []
        files = sorted((tmp_path / "rec").rglob("*.mp4"))
        assert len(files) >= 3, "files are written while the index is locked"
    h.finish()
    segs = h.index.segments("cam")
    assert len(segs) == 4 and h.recorder.index_writes.queued == 0
    assert [s.seq for s in segs] == [0, 1, 2, 3] and len({s.run_id for s in segs}) == 1
    for before, after in itertools.pairwise(segs):
        assert after.start_wall_ns == before.end_wall_ns
    assert sum(s.frame_count or 0 for s in segs) == len(h264_units)
    assert all(frames(tmp_path / "rec" / s.path) == s.frame_count for s in segs)
    (run,) = h.index.query("SELECT end_reason FROM runs")
    assert run[0] is not None
    assert fsck(h.index).clean


def test_writes_lost_with_the_process_are_recovered_from_the_files(tmp_path: Path, h264_units: Units,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_module, "DRAIN_TIMEOUT_S", 0.2)
    h = Harness(tmp_path)
    h.index.wait = IndexWaitPolicy(thread_wait_s=0.3, attempt_wait_s=0.05, pending_limit=3)
    index_path = tmp_path / "index.sqlite3"
    with locked(index_path):
        h.start(h264_units)
        h.finish()  # the recorder ends while the index is still locked: its writes are lost
        assert h.recorder.index_writes.dropped > 0, "the bounded queue overflowed"
    h.index.close()
    index = Index.open(index_path, WALL0)
    with index.transaction() as c:
        storage = open_storage_dir(c, tmp_path / "rec", require_mount=False)
    report = recover(index, storage, WALL0)
    assert len(report.adopted_segments) == 4 and report.orphans_removed == []
    segs = index.segments("cam")
    assert [s.seq for s in segs] == [0, 1, 2, 3] and all(s.recovered for s in segs)
    for before, after in itertools.pairwise(segs):
        assert after.start_wall_ns == before.end_wall_ns, "later segments continue the first one's time"
    assert sum(s.frame_count or 0 for s in segs) == len(h264_units)
    assert all((s.codec, s.width, s.height) == ("h264", 320, 240) for s in segs)
    (run,) = index.query("SELECT camera_id, end_reason FROM runs")
    assert tuple(run) == ("cam", "crash")
    assert fsck(index).clean


def test_a_clean_close_leaves_the_index_in_one_file(tmp_path: Path) -> None:
    """The read connection closes first, so the writing one is the last and checkpoints the WAL
    (the appliance's boot test reads a copy of index.sqlite3 alone after a clean stop)."""
    index = Index.open(tmp_path / "index.sqlite3", 0)
    index.add_event("cam", "camera_up", 1, None, None)
    assert index.query("SELECT COUNT(*) FROM events")[0][0] == 1  # the read connection in use
    index.close()
    assert not (tmp_path / "index.sqlite3-wal").exists()
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes((tmp_path / "index.sqlite3").read_bytes())  # the database file alone
    with closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
