"""Segment files read back; crash recovery keeps complete fragments; storage meta guards the disk."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from vigil.core.errors import StorageError
from vigil.core.h26x import parameter_sets
from vigil.core.media import Codec
from vigil.record.fmp4 import Fmp4Error, scan_fmp4
from vigil.record.recovery import recover
from vigil.record.storage import META_NAME, StorageDir, open_storage_dir
from vigil.record.writer import SegmentWriter, hash_file
from vigil.store.index import Index
from vigil.store.rows import NewSegment


def write_segment(path: Path, units: list[tuple[bytes, bool]]) -> None:
    writer = SegmentWriter(path, Codec.H264, parameter_sets(Codec.H264, units[0][0]), units[0][0])
    assert (writer.width, writer.height) == (320, 240)
    for n, (data, key) in enumerate(units):
        writer.write(data, n * 6000, n * 6000, 6000, key)
    writer.close()


def ffprobe_frames(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def test_written_segment_scans_and_plays(tmp_path: Path, h264_units: list[tuple[bytes, bool]]) -> None:
    path = tmp_path / "s.mp4"
    write_segment(path, h264_units)
    with path.open("rb") as f:
        scan = scan_fmp4(f)
    assert scan.timescale == 90_000
    assert scan.frame_count == len(h264_units) == ffprobe_frames(path)
    assert scan.keyframe_count == 4
    assert scan.duration == 6000 * len(h264_units)
    assert scan.has_index and scan.complete_end == scan.file_size_bytes
    # Fragments at every keyframe (1 s GOP), so a crash loses at most about a second.
    assert len(scan.fragments) >= 4
    assert all(f.duration <= 90_000 for f in scan.fragments)


def test_truncated_file_keeps_complete_fragments(tmp_path: Path, h264_units: list[tuple[bytes, bool]]) -> None:
    path = tmp_path / "s.mp4"
    write_segment(path, h264_units)
    with path.open("rb") as f:
        full = scan_fmp4(f)
    cut_at = full.fragments[2].offset + 100  # in the middle of the third fragment
    os.truncate(path, cut_at)
    with path.open("rb") as f:
        partial = scan_fmp4(f)
    assert len(partial.fragments) == 2
    assert partial.complete_end == full.fragments[2].offset
    assert not partial.has_index
    (tmp_path / "junk.mp4").write_bytes(b"\x00\x00\x00\x08junk")
    with (tmp_path / "junk.mp4").open("rb") as f, pytest.raises(Fmp4Error):
        scan_fmp4(f)


def _storage(tmp_path: Path) -> tuple[Index, StorageDir]:
    index = Index.open(tmp_path / "index.sqlite3", time.time_ns())
    with index.transaction() as c:
        storage = open_storage_dir(c, tmp_path / "rec", require_mount=False)
    return index, storage


def test_recovery_completes_interrupted_segment_and_removes_orphans(
    tmp_path: Path, h264_units: list[tuple[bytes, bool]]
) -> None:
    index, storage = _storage(tmp_path)
    run = index.start_run("cam", "main", 1_000, "h264")
    rel = "cam/main/2026-01-01/000001-00000.mp4"
    seg_id = index.open_segment(NewSegment("cam", "main", run, 0, storage.id, rel, 1_000, 0, "h264", 320, 240))
    path = storage.path / rel
    path.parent.mkdir(parents=True)
    write_segment(path, h264_units)
    with path.open("rb") as f:
        full = scan_fmp4(f)
    os.truncate(path, full.fragments[-1].offset + 50)  # the crash: last fragment half written, no index box
    empty_rel = "cam/main/2026-01-01/000001-00001.mp4"
    empty_id = index.open_segment(NewSegment("cam", "main", run, 1, storage.id, empty_rel, 2_000, 0, "h264", 1, 1))
    (storage.path / empty_rel).write_bytes(b"")
    orphan = storage.path / "cam" / "stray.mp4"
    orphan.write_bytes(b"not ours")

    report = recover(index, storage, time.time_ns())

    assert report.recovered_segments == 1 and report.dropped_reservations == 1
    assert report.orphans_removed == ["cam/stray.mp4"]
    assert report.runs_closed == 1
    (seg,) = index.segments("cam")
    assert seg.id == seg_id and seg.recovered and seg.cut_reason == "crash"
    expected_frames = sum(f.sample_count for f in full.fragments[:-1])
    assert seg.frame_count == expected_frames == ffprobe_frames(path)
    assert (seg.size_bytes, seg.sha256) == hash_file(path)
    assert seg.end_wall_ns == 1_000 + seg.media_duration_90k * 100_000 // 9  # type: ignore[operator]
    assert not (storage.path / empty_rel).exists()
    assert index.segments(state="open") == [] and all(s.id != empty_id for s in index.segments(state=None))


def test_garbage_is_collected_on_recovery(tmp_path: Path, h264_units: list[tuple[bytes, bool]]) -> None:
    index, storage = _storage(tmp_path)
    (storage.path / "gone.mp4").write_bytes(b"x")
    with index.transaction() as c:
        c.execute("INSERT INTO garbage (dir_id, path, queued_wall_ns) VALUES (?, 'gone.mp4', 0)", (storage.id,))
    report = recover(index, storage, time.time_ns())
    assert report.garbage_collected == 1
    assert not (storage.path / "gone.mp4").exists() and index.garbage() == []


def test_meta_file_catches_missing_and_foreign_disks(tmp_path: Path) -> None:
    index, storage = _storage(tmp_path)
    meta = json.loads((storage.path / META_NAME).read_text())
    assert meta["dir_uuid"] == storage.dir_uuid
    # Same index, same dir: accepted.
    with index.transaction() as c:
        assert open_storage_dir(c, storage.path, require_mount=False).id == storage.id
    # The disk is not mounted: the mount point is an empty directory.
    (storage.path / META_NAME).rename(tmp_path / "meta.saved")
    with index.transaction() as c, pytest.raises(StorageError, match="missing or not mounted"):
        open_storage_dir(c, storage.path, require_mount=False)
    # A different disk of another appliance.
    (storage.path / META_NAME).write_text(json.dumps({"db_uuid": "other", "dir_uuid": "other"}))
    with index.transaction() as c, pytest.raises(StorageError, match="belongs to another vigil index"):
        open_storage_dir(c, storage.path, require_mount=False)
    # A new index must not adopt a directory that has content but no meta file.
    other = Index.open(tmp_path / "other.sqlite3", time.time_ns())
    (storage.path / META_NAME).unlink()
    (storage.path / "cam").mkdir()
    with other.transaction() as c, pytest.raises(StorageError, match="not empty"):
        open_storage_dir(c, storage.path, require_mount=False)
    with other.transaction() as c, pytest.raises(StorageError, match="not a mount point"):
        open_storage_dir(c, tmp_path / "elsewhere", require_mount=True)
