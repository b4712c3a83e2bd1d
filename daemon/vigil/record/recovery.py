"""Startup recovery and garbage collection: make the index and the recordings agree again.

- Finish deletes that a crash interrupted (the garbage table).
- For each 'open' reservation: keep the segment's complete fragments (truncate the partial tail),
  fsync, hash and mark it complete; or drop the reservation if nothing complete was written.
- Close runs that a crash left open.
- Remove files that no row knows (created before their reservation committed, or stray).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.errors import DiskFullError
from vigil.core.timebase import ticks_to_ns
from vigil.record.fmp4 import Fmp4Error, scan_fmp4
from vigil.record.index import FinishedSegment, Index, SegmentRow
from vigil.record.reserve import RESERVE_NAME
from vigil.record.storage import META_NAME, StorageDir, fsync_dir, fsync_file
from vigil.record.writer import hash_file

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    recovered_segments: int = 0
    recovered_frames: int = 0
    dropped_reservations: int = 0
    orphans_removed: list[str] = field(default_factory=list)
    garbage_collected: int = 0
    runs_closed: int = 0
    disk_full: bool = False  # the index could not take everything (see recover)


def collect_garbage(index: Index, storage: StorageDir) -> int:
    """Unlink every queued file, fsync the directories, then forget the queue entries."""
    rows = [g for g in index.garbage() if g.dir_id == storage.id]
    dirs: set[Path] = set()
    for row in rows:
        path = storage.path / row.path
        path.unlink(missing_ok=True)
        dirs.add(path.parent)
    for d in dirs:
        if d.exists():
            fsync_dir(d)
    index.forget_garbage([g.id for g in rows])
    return len(rows)


def recover_segment(index: Index, storage: StorageDir, seg: SegmentRow) -> int:
    """Make an 'open' segment complete from its complete fragments, or drop it if it has none.

    Returns the frames kept (0: dropped)."""
    done = finish_from_fragments(index, storage.path / seg.path, seg.id, seg.start_wall_ns, "crash")
    return 0 if done is None else done.frame_count


def finish_from_fragments(index: Index, path: Path, segment_id: int, start_wall_ns: int,
                          cut_reason: str) -> FinishedSegment | None:
    """Keep a segment's complete fragments: cut the partial tail, fsync, hash and mark its 'open'
    row complete (`recovered`); or, with nothing complete, remove file and row (None).

    Used at start-up after a crash, and by the recorder when a write failed (a full disk): the
    cut only shrinks the file, so it works on a full disk. Raises DiskFullError when the index
    cannot take the row; the file is already cut then, and a later call finishes the row."""
    try:
        with path.open("rb") as f:
            scan = scan_fmp4(f)
    except (FileNotFoundError, Fmp4Error) as error:
        scan, why = None, str(error)
    else:
        why = "no complete fragment"
    if scan is None or not scan.fragments:
        log.info("recovery: segment %s has nothing complete (%s); dropping it", path, why)
        path.unlink(missing_ok=True)
        index.discard_segment(segment_id)
        return None
    if scan.complete_end < scan.file_size_bytes:
        os.truncate(path, scan.complete_end)
    fsync_file(path)
    fsync_dir(path.parent)
    size, sha = hash_file(path)
    duration_90k = scan.duration * 90_000 // scan.timescale
    done = FinishedSegment(
        end_wall_ns=start_wall_ns + ticks_to_ns(duration_90k), media_duration_90k=duration_90k,
        frame_count=scan.frame_count, keyframe_count=scan.keyframe_count, size_bytes=size, sha256=sha,
        cut_reason=cut_reason, recovered=True,
    )
    index.complete_segment(segment_id, done)
    log.warning("recovery: kept %d frames (%.1f s) of interrupted segment %s (%s)", scan.frame_count,
                duration_90k / 90_000, path, cut_reason)
    return done


def recover(index: Index, storage: StorageDir, now_wall_ns: int) -> RecoveryReport:
    """On a full disk (the index beside the recordings, the default layout) rows that cannot be
    written stay as they are for the next start, and recording starts anyway: the recorders
    pause with reason disk_full until there is room (core/write_failure.py)."""
    report = RecoveryReport()
    try:
        report.garbage_collected = collect_garbage(index, storage)
        for seg in index.segments(state="open"):
            if seg.dir_id != storage.id:
                continue
            kept = recover_segment(index, storage, seg)
            report.recovered_segments += kept > 0
            report.dropped_reservations += kept == 0
            report.recovered_frames += kept
        with index.transaction() as c:
            cur = c.execute(
                "UPDATE runs SET end_reason = 'crash', end_wall_ns = COALESCE("
                " (SELECT MAX(end_wall_ns) FROM segments WHERE run_id = runs.id), start_wall_ns)"
                " WHERE end_wall_ns IS NULL"
            )
            report.runs_closed = cur.rowcount
    except DiskFullError as error:
        log.error("recovery: %s; the rest is recovered at the next start", error)
        report.disk_full = True
    known = index.segment_paths(storage.id)
    for path in sorted(storage.path.rglob("*")):
        if not path.is_file() or path.name in (META_NAME, RESERVE_NAME):
            continue
        rel = path.relative_to(storage.path).as_posix()
        if rel not in known:
            log.warning("recovery: removing %s, which the index does not know", rel)
            path.unlink()
            report.orphans_removed.append(rel)
    return report
