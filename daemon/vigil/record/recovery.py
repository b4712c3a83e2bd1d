"""Startup recovery and garbage collection: make the index and the recordings agree again.

- Finish deletes that a crash interrupted (the garbage table).
- For each 'open' reservation: keep the segment's complete fragments (truncate the partial tail),
  fsync, hash and mark it complete; or drop the reservation if nothing complete was written.
- Index the complete fragments of segment files that no row knows: written while the index was
  busy (their queued rows were lost with the process) or created before their reservation
  committed. Their run and sequence come from the file name; their start is where the previous
  segment of the run ended, else the file's modification time minus its duration.
- Close runs that a crash left open.
- Remove files that no row knows and that are not segments of ours (stray, or nothing complete).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import av

from vigil.core.errors import DiskFullError
from vigil.core.timebase import ticks_to_ns
from vigil.record.fmp4 import Fmp4Error, Fmp4Scan, scan_fmp4
from vigil.record.reserve import RESERVE_NAME
from vigil.record.storage import META_NAME, StorageDir, fsync_dir, fsync_file
from vigil.record.writer import hash_file
from vigil.store.index import Index
from vigil.store.rows import FinishedSegment, NewSegment, SegmentRow, insert_open_segment, mark_complete

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    recovered_segments: int = 0
    recovered_frames: int = 0
    dropped_reservations: int = 0
    orphans_removed: list[str] = field(default_factory=list)
    adopted_segments: list[str] = field(default_factory=list)  # files indexed from their name and content
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


def keep_complete_fragments(path: Path, start_wall_ns: int, cut_reason: str) -> FinishedSegment | None:
    """Cut a segment file after its last complete fragment, fsync it, hash it: the finished row
    of what is kept, or None when it holds nothing complete (or is missing, or not an fMP4).

    The cut only shrinks the file, so this works on a full disk: the recorder uses it for a
    segment whose write failed, start-up recovery for one a crash interrupted."""
    try:
        scan = _complete_part(path)
    except FileNotFoundError:
        return None
    if scan is None:
        return None
    size, sha = hash_file(path)
    duration_90k = scan.duration * 90_000 // scan.timescale
    return FinishedSegment(
        end_wall_ns=start_wall_ns + ticks_to_ns(duration_90k), media_duration_90k=duration_90k,
        frame_count=scan.frame_count, keyframe_count=scan.keyframe_count, size_bytes=size, sha256=sha,
        cut_reason=cut_reason, recovered=True,
    )


def finish_from_fragments(index: Index, path: Path, segment_id: int, start_wall_ns: int,
                          cut_reason: str) -> FinishedSegment | None:
    """Keep a segment's complete fragments and mark its 'open' row complete (`recovered`); or,
    with nothing complete, remove file and row (None). Raises DiskFullError or IndexBusyError
    when the index cannot take the row; the file is already cut then, and a later call finishes
    the row."""
    done = keep_complete_fragments(path, start_wall_ns, cut_reason)
    if done is None:
        log.info("recovery: segment %s has nothing complete; dropping it", path)
        path.unlink(missing_ok=True)
        index.discard_segment(segment_id)
        return None
    index.complete_segment(segment_id, done)
    log.warning("recovery: kept %d frames (%.1f s) of interrupted segment %s (%s)", done.frame_count,
                done.media_duration_90k / 90_000, path, cut_reason)
    return done


# segment_relpath() in core/segmenter.py: <camera>/<stream>/<YYYY-MM-DD>/<run>-<seq>.mp4
_SEGMENT_NAME = re.compile(
    r"(?P<camera>[^/]+)/(?P<stream>[^/]+)/\d{4}-\d{2}-\d{2}/(?P<run>\d{6,})-(?P<seq>\d{5,})\.mp4")


def _complete_part(path: Path) -> Fmp4Scan | None:
    """Scan `path`, truncate it after its last complete fragment and make that durable; None when
    it holds no complete fragment (or is not ours)."""
    try:
        with path.open("rb") as f:
            scan = scan_fmp4(f)
    except Fmp4Error:
        return None
    if not scan.fragments:
        return None
    if scan.complete_end < scan.file_size_bytes:
        os.truncate(path, scan.complete_end)
    fsync_file(path)
    fsync_dir(path.parent)
    return scan


def adopt_segment_file(index: Index, storage: StorageDir, rel: str) -> bool:
    """Index a segment file no row knows (see the module docstring); False if it is not one of
    ours with a complete fragment (the caller removes it)."""
    match = _SEGMENT_NAME.fullmatch(rel)
    path = storage.path / rel
    scan = _complete_part(path) if match else None
    if match is None or scan is None:
        return False
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0].codec_context
            codec, width, height = str(video.name), int(video.width), int(video.height)
    except (av.FFmpegError, IndexError):
        return False
    camera_id, stream = match["camera"], match["stream"]
    run_id, seq = int(match["run"]), int(match["seq"])
    duration_90k = scan.duration * 90_000 // scan.timescale
    previous = index.query("SELECT end_wall_ns, media_start_90k, media_duration_90k FROM segments"
                           " WHERE run_id = ? AND seq = ? AND state = 'complete'", (run_id, seq - 1))
    if previous:
        start_wall = int(previous[0][0])
        media_start_90k = int(previous[0][1]) + int(previous[0][2])
    else:
        start_wall, media_start_90k = path.stat().st_mtime_ns - ticks_to_ns(duration_90k), 0
    size, sha = hash_file(path)
    new = NewSegment(camera_id, stream, run_id, seq, storage.id, rel, start_wall, media_start_90k, codec, width,
                     height)
    done = FinishedSegment(end_wall_ns=start_wall + ticks_to_ns(duration_90k), media_duration_90k=duration_90k,
                           frame_count=scan.frame_count, keyframe_count=scan.keyframe_count, size_bytes=size,
                           sha256=sha, cut_reason="unindexed", recovered=True)
    segment_id = index.allocate_id("segments")
    with index.transaction() as c:
        c.execute("INSERT OR IGNORE INTO runs (id, camera_id, stream, start_wall_ns, codec) VALUES (?, ?, ?, ?, ?)",
                  (run_id, camera_id, stream, start_wall, codec))
        insert_open_segment(c, segment_id, new)
        mark_complete(c, segment_id, done)
    log.warning("recovery: indexed %s (%d frames, %.1f s), which the index did not know", rel, scan.frame_count,
                duration_90k / 90_000)
    return True


def recover(index: Index, storage: StorageDir, now_wall_ns: int) -> RecoveryReport:
    """On a full disk (the index beside the recordings, the default layout) rows that cannot be
    written stay as they are, and files the index does not know stay on disk, for the next start;
    recording starts anyway: the recorders pause with reason disk_full until there is room
    (core/write_failure.py)."""
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
        known = index.segment_paths(storage.id)
        for path in sorted(storage.path.rglob("*")):  # by name: runs in order, each run's segments in order
            if not path.is_file() or path.name in (META_NAME, RESERVE_NAME):
                continue
            rel = path.relative_to(storage.path).as_posix()
            if rel in known:
                continue
            if adopt_segment_file(index, storage, rel):
                report.adopted_segments.append(rel)
            else:
                log.warning("recovery: removing %s, which the index does not know", rel)
                path.unlink()
                report.orphans_removed.append(rel)
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
    return report
