"""Failed writes (issue 12, #3): a segment writer on a really full filesystem never touches its
failed muxer again and leaves a file valid up to its last complete fragment; a full SQLite index
raises DiskFullError (HTTP 503) and stays usable once there is room."""

from __future__ import annotations

import errno
import gc
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.small_disk import SmallDisk, needs_mount_namespace
from vigil.core.errors import DiskFullError, http_status
from vigil.core.h26x import parameter_sets
from vigil.core.media import Codec
from vigil.core.write_failure import ResumePolicy, WriteFailure, classify_write_error
from vigil.record.fmp4 import scan_fmp4
from vigil.record.recovery import finish_from_fragments
from vigil.record.reserve import SpaceReserve, recordings_free_bytes
from vigil.record.writer import SegmentWriter, WriterFailedError
from vigil.store.index import Index
from vigil.store.rows import NewSegment

Units = list[tuple[bytes, bool]]


def test_classify_write_errors_and_resume_rule() -> None:
    assert classify_write_error(errno.ENOSPC) is WriteFailure.DISK_FULL
    assert classify_write_error(errno.EDQUOT) is WriteFailure.DISK_FULL
    assert classify_write_error(None, 13) is WriteFailure.DISK_FULL  # SQLITE_FULL
    assert classify_write_error(None, 13 | (1 << 8)) is WriteFailure.DISK_FULL  # an extended code of it
    assert classify_write_error(errno.EIO) is WriteFailure.WRITE_ERROR
    assert classify_write_error(None, 5) is WriteFailure.WRITE_ERROR  # SQLITE_BUSY is not a full disk
    policy = ResumePolicy(resume_free_bytes=1000)
    assert not policy.may_resume(WriteFailure.DISK_FULL, 999)
    assert policy.may_resume(WriteFailure.DISK_FULL, 1000)
    assert policy.may_resume(WriteFailure.WRITE_ERROR, 0)  # retried (with backoff) whatever is free


def test_pause_checks_back_off_to_a_cap() -> None:
    from vigil.core.write_failure import Pause

    policy = ResumePolicy()
    pause = Pause(WriteFailure.DISK_FULL, 0, "ENOSPC")
    delays = []
    now_s = 100.0
    for _ in range(10):
        pause = pause.checked(now_s, policy, 0.99)
        delays.append(pause.next_check_monotonic_s - now_s)
        assert not pause.due(now_s) and pause.due(pause.next_check_monotonic_s)
    assert delays == sorted(delays) and delays[0] <= 1.0 and delays[-1] <= policy.backoff.max_delay_s
    assert delays[-1] > 0.9 * policy.backoff.max_delay_s  # a disk that stays full: one look every ~30 s


def test_full_index_raises_disk_full_and_recovers_when_room_returns(tmp_path: Path) -> None:
    index = Index.open(tmp_path / "index.sqlite3", time.time_ns())
    pages = int(index.query("PRAGMA page_count")[0][0])
    index.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's own SQLITE_FULL, a few rows on
    with pytest.raises(DiskFullError) as raised:
        for n in range(10_000):
            index.add_event("cam", "note", n, None, "x" * 500)
    assert http_status(raised.value) == 503 and "full" in str(raised.value)
    assert not index.conn.in_transaction  # no transaction left open to fail every later BEGIN
    index.conn.execute("PRAGMA max_page_count = 1000000")
    index.add_event("cam", "after", 1)  # usable again once there is room
    assert index.events("cam", "after")
    index.close()


@needs_mount_namespace
def test_writer_on_a_full_disk_fails_once_then_keeps_its_complete_fragments(
        tmp_path: Path, h264_units: Units) -> None:
    with SmallDisk(tmp_path / "disk", 4 << 20) as disk:
        path = disk.path(tmp_path / "disk" / "s.mp4")
        disk.fill("filler", leave_bytes=120_000)  # room for a few fragments of this clip, not all of them
        first = h264_units[0][0]
        writer = SegmentWriter(path, Codec.H264, parameter_sets(Codec.H264, first), first)
        written = 0
        with pytest.raises(OSError) as raised:
            for lap in range(100):
                for n, (data, key) in enumerate(h264_units):
                    t = (lap * len(h264_units) + n) * 6000
                    writer.write(data, t, t, 6000, key)
                    written += 1
        assert raised.value.errno == errno.ENOSPC
        assert writer.failed and written == writer.frame_count
        # Never into the failed muxer again: these raise instead of reaching libavformat.
        with pytest.raises(WriterFailedError):
            writer.write(h264_units[0][0], 0, 0, 6000, True)
        with pytest.raises(WriterFailedError):
            writer.close()
        writer.abandon()
        del writer
        gc.collect()  # PyAV's finalizer must not write the trailer either

        index = Index.open(tmp_path / "index.sqlite3", time.time_ns())
        with index.transaction() as c:
            c.execute("INSERT INTO storage_dir (id, path, dir_uuid) VALUES (1, ?, 'test')", (str(path.parent),))
        run = index.start_run("cam", "main", 0, "h264")
        seg = index.open_segment(NewSegment("cam", "main", run, 0, 1, "s.mp4", 0, 0, "h264", 320, 240))
        done = finish_from_fragments(index, path, seg, 0, "disk_full")
        assert done is not None and 0 < done.frame_count <= written
        with path.open("rb") as f:
            scan = scan_fmp4(f)
        assert scan.complete_end == scan.file_size_bytes == done.size_bytes  # the partial tail was cut
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                                "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
                               capture_output=True, text=True, check=True)
        assert int(probe.stdout.strip()) == done.frame_count and probe.stderr == ""
        row = index.segments("cam")[0]
        assert row.state == "complete" and row.cut_reason == "disk_full" and row.frame_count == done.frame_count
        index.close()


@needs_mount_namespace
def test_reserve_beside_the_index_takes_real_blocks_and_gives_them_back(tmp_path: Path) -> None:
    with SmallDisk(tmp_path / "disk", 32 << 20) as disk:
        reserve = SpaceReserve(disk.path(tmp_path / "disk"), 8 << 20)
        assert reserve.missing_bytes == 8 << 20
        before = disk.free_bytes()
        reserve.ensure(before)
        assert reserve.missing_bytes == 0 and before - disk.free_bytes() >= 8 << 20  # not a sparse file
        disk.fill("filler")
        assert disk.free_bytes() < 1 << 20
        assert reserve.give_up() and disk.free_bytes() >= 8 << 20  # room for the index now
        assert not reserve.give_up() and reserve.missing_bytes == 8 << 20
        reserve.ensure(disk.free_bytes())  # not twice its size free: not made again yet
        assert reserve.missing_bytes == 8 << 20


def test_a_missing_reserve_counts_against_the_recordings_only_on_its_own_disk(tmp_path: Path) -> None:
    """One rule for the recorder's resume check, retention, the storage warnings and the storage
    report (record/reserve.recordings_free_bytes)."""
    here, other = tmp_path / "rec", Path("/dev/shm")
    here.mkdir()
    assert here.stat().st_dev != other.stat().st_dev, "needs /dev/shm on a filesystem of its own"
    reserve = SpaceReserve(tmp_path, 8 << 20)  # given up: missing
    assert recordings_free_bytes(100 << 20, here, reserve) == 92 << 20
    assert recordings_free_bytes(4 << 20, here, reserve) == -(4 << 20)  # that much more to free first
    assert recordings_free_bytes(100 << 20, other, reserve) == 100 << 20  # the index's disk is another
    assert recordings_free_bytes(100 << 20, tmp_path / "not yet made", reserve) == 100 << 20
    assert recordings_free_bytes(100 << 20, here, None) == 100 << 20
    (tmp_path / ".vigil-reserve").write_bytes(b"\0" * (8 << 20))  # there: takes nothing more
    assert recordings_free_bytes(100 << 20, here, reserve) == 100 << 20
