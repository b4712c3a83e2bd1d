"""Retention against the running daemon: the budget holds, held footage stays, recording goes on."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.camsim import CameraServerFactory
from tests.support.vigil_proc import VigilProcess, index_of, wait_for, write_config
from vigil.store.index import Index

MAX_BYTES = 300_000  # about four 2 s segments of this noisy camera


def test_budget_deletes_oldest_unheld_and_keeps_held(tmp_path: Path, camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=a,width=320,height=240,fps=15,gop=15,bitrate=300,pattern=snow")
    config = write_config(tmp_path, {"cam-a": cams.url("a")},
                          f"segment_duration_s = 2\nretention_interval_s = 1\nmax_bytes = {MAX_BYTES}\n"
                          "keep_newest_s = 0")  # the budget itself, without keeping the newest minutes
    recordings = tmp_path / "data" / "recordings"
    vigil = VigilProcess(config)
    try:
        wait_for(lambda: len(index_of(config).segments("cam-a")) >= 1, 20, "a first segment")
        held = index_of(config).segments("cam-a")[0]
        assert held.end_wall_ns is not None
        writer = Index.open(tmp_path / "data" / "index.sqlite3", time.time_ns())  # a second writer, as the API will be
        writer.add_hold("cam-a", held.start_wall_ns, held.end_wall_ns, "case 2026-118", "test", time.time_ns())
        writer.close()
        seen: set[int] = set()

        def budget_exceeded_and_enforced() -> bool:
            segs = index_of(config).segments("cam-a")
            seen.update(s.id for s in segs)
            return len(seen) - len(segs) >= 4

        wait_for(budget_exceeded_and_enforced, 60, "retention to delete several segments")
        assert vigil.proc.poll() is None, vigil.log
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
    segs = index_of(config).segments("cam-a")
    ids = [s.id for s in segs]
    assert held.id in ids and (recordings / held.path).is_file(), "held segment kept"
    unheld = [s for s in segs if s.id != held.id]
    deleted = sorted(seen - set(ids))
    # The oldest unheld segments went first: every deleted id is older than every kept unheld one.
    assert deleted and max(deleted) < min(s.id for s in unheld)
    for row in index_of(config).segments(state=None):
        assert (recordings / row.path).is_file()
    on_disk = {p.relative_to(recordings).as_posix() for p in recordings.rglob("*.mp4")}
    assert on_disk == {s.path for s in segs}, "deleted segments' files are gone, kept ones remain"
    # The budget is met up to the segments written since the last round (1 s interval, 2 s segments).
    unheld_bytes = sum(s.size_bytes or 0 for s in unheld)
    assert unheld_bytes + (held.size_bytes or 0) <= MAX_BYTES + 2 * max(s.size_bytes or 0 for s in segs)
    # Recording went on: the newest segment ended at the stop.
    assert time.time_ns() - (segs[-1].end_wall_ns or 0) < 10 * 1_000_000_000
    assert index_of(config).garbage() == []
