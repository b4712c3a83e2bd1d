"""Holds through the index into the retention plan: every-camera holds, `until` and release."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from vigil.core.errors import ConflictError, NotFoundError
from vigil.core.retention import DiskState, RetentionPlan, RetentionPolicy, plan_retention
from vigil.core.storage_report import Level
from vigil.record.retention import RetentionRound
from vigil.record.storage import StorageDir
from vigil.record.storage_warnings import StorageWarnings
from vigil.store.holds import EvidenceStore
from vigil.store.index import Index
from vigil.store.rows import FinishedSegment, NewBookmark, NewSegment

S = 1_000_000_000
T0 = 1_780_000_000 * S


def _segments(index: Index) -> dict[tuple[str, int], int]:
    """Three 60 s segments on each of two cameras: (camera, minute) -> segment id."""
    with index.transaction() as c:
        c.execute("INSERT INTO storage_dir (id, path, dir_uuid) VALUES (1, '/r', 'u')")
    out = {}
    for camera in ("a", "b"):
        run = index.start_run(camera, "main", T0, "h264")
        for minute in range(3):
            start = T0 + minute * 60 * S
            seg = index.open_segment(NewSegment(camera, "main", run, minute, 1, f"{camera}/{minute}.mp4", start, 0,
                                                "h264", 320, 240))
            index.complete_segment(seg, FinishedSegment(start + 60 * S, 60 * 90_000, 900, 60, 100, "0" * 64,
                                                        "duration"))
            out[camera, minute] = seg
    return out


def test_retention_honours_every_camera_holds_until_and_release(tmp_path: Path) -> None:
    index = Index.open(tmp_path / "index.sqlite3", T0)
    segs = _segments(index)
    now = T0 + 3600 * S
    every = index.add_hold(None, T0, T0 + 30 * S, "every camera, minute 0", "t", now)
    index.add_hold("b", T0 + 60 * S, T0 + 90 * S, "b minute 1, expired", "t", now, until_wall_ns=now)
    released = index.add_hold("a", T0 + 120 * S, T0 + 150 * S, "a minute 2, released", "t", now)
    store = EvidenceStore(index)
    row = store.release_hold(released, "user:x", now + 1)
    assert (row.released_wall_ns, row.released_by) == (now + 1, "user:x")
    with pytest.raises(ConflictError):
        store.release_hold(released, "user:x", now + 2)
    with pytest.raises(NotFoundError):
        store.release_hold(999, "user:x", now)
    plan = plan_retention(index.usage(), index.holds(), RetentionPolicy(0, None, 0, keep_newest_s=0),
                          DiskState(10**9, 0), now)
    assert set(plan.delete_ids) == set(segs.values()) - {segs["a", 0], segs["b", 0]}
    assert plan.held_bytes == 200 and plan.shortfall_bytes == 200
    assert [h.id for h in store.holds("a")] == [every, released]
    assert [h.id for h in store.holds("b", T0 + 60 * S, T0 + 61 * S)] == [every + 1]
    index.close()


def test_bookmarks_of_a_camera_include_its_building_and_point_bookmarks(tmp_path: Path) -> None:
    index = Index.open(tmp_path / "index.sqlite3", time.time_ns())
    store = EvidenceStore(index)
    cam = index.add_bookmark(NewBookmark("hs-1", "hs", T0, T0 + 10 * S, "cam", "u"), T0)
    building = index.add_bookmark(NewBookmark(None, "hs", T0 + 5 * S, T0 + 5 * S, "point", "u"), T0)
    index.add_bookmark(NewBookmark(None, "ms", T0, T0 + 10 * S, "other building", "u"), T0)
    index.add_bookmark(NewBookmark("hs-2", "hs", T0, T0 + 10 * S, "other camera", "u"), T0)
    assert [b.id for b in store.bookmarks("hs-1", "hs", T0, T0 + 60 * S)] == [cam, building]
    assert [b.id for b in store.bookmarks("hs-1", "hs", T0 + 5 * S, T0 + 6 * S)] == [cam, building]
    assert store.bookmarks("hs-1", "hs", T0 + 11 * S, T0 + 60 * S) == []
    store.delete_bookmark(cam)
    with pytest.raises(NotFoundError):
        store.bookmark(cam)
    index.close()


def test_storage_watch_logs_level_changes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    watch = StorageWarnings(RetentionPolicy(max_bytes=1000, retain_days=None, min_free_bytes=0),
                         StorageDir(1, tmp_path, "u"))

    def round_with(held: int) -> RetentionRound:
        return RetentionRound(RetentionPlan((), 0, 0, held, 1000, 0), 0)

    with caplog.at_level(logging.INFO, logger="vigil.record.storage_warnings"):
        assert watch.observe(round_with(100)).level is Level.OK
        assert watch.observe(round_with(600)).level is Level.WARNING
        assert watch.observe(round_with(650)).level is Level.WARNING  # no change: logged once
        assert watch.observe(round_with(900)).level is Level.CRITICAL
        assert watch.observe(round_with(0)).level is Level.OK
    assert [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records] == [
        ("WARNING", "storage warning"), ("ERROR", "storage critical"), ("INFO", "storage ok")]
