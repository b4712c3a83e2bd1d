"""Reading what a camera's timeline is made of, for core.timeline to merge.

Segments (and motion intervals) of one camera never overlap one another, so the ones overlapping
[start, end) are those starting inside it plus the last one starting before it: two range scans
of the (camera_id, start_wall_ns) index, however long the camera has been recording. Also a
camera's recent events of one kind (its outages of the last day, in the camera list), and one
segment by id (playback serves its file)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.core.timeline import MERGE_TOLERANCE_NS, CameraEvent, RunEnd, SegmentRow
from vigil.store.holds import BookmarkRow, EvidenceStore, HoldRow
from vigil.store.index import Index
from vigil.store.rows import SegmentRow as StoredSegment
from vigil.store.rows import segment_row


@dataclass(frozen=True)
class MotionSpan:
    start_wall_ns: int
    end_wall_ns: int
    peak: float


@dataclass(frozen=True)
class TimelineInputs:
    segments: list[SegmentRow]  # (start_wall_ns, end_wall_ns or None, run_id), as core.timeline.SegmentSpan
    runs: list[RunEnd]
    events: list[CameraEvent]
    motion: list[MotionSpan]
    bookmarks: list[BookmarkRow]
    holds: list[HoldRow]


_RUN_COLUMNS = "id, end_wall_ns, end_reason, start_wall_ns"


def _overlapping(index: Index, table: str, columns: str, camera_id: str, start_ns: int, end_ns: int
                 ) -> list[tuple[Any, ...]]:
    inside = index.query_tuples(f"SELECT {columns} FROM {table} WHERE camera_id = ? AND start_wall_ns >= ?"  # noqa: S608
                                " AND start_wall_ns < ? ORDER BY start_wall_ns", (camera_id, start_ns, end_ns))
    before = index.query_tuples(f"SELECT {columns} FROM {table} WHERE camera_id = ? AND start_wall_ns < ?"  # noqa: S608
                                " ORDER BY start_wall_ns DESC LIMIT 1", (camera_id, start_ns))
    return before + inside


def read_timeline(index: Index, camera_id: str, building_id: str | None, start_ns: int, end_ns: int
                  ) -> TimelineInputs:
    segments: list[SegmentRow] = _overlapping(
        index, "segments", "start_wall_ns, end_wall_ns, run_id", camera_id, start_ns, end_ns)
    motion = [MotionSpan(s, e, p / 1000) for s, e, p in _overlapping(
        index, "motion_intervals", "start_wall_ns, end_wall_ns, peak_milli", camera_id, start_ns, end_ns)
        if e > start_ns]
    # The runs in the range, and the last one that ended before it (what the first gap follows).
    runs = index.query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE camera_id = ? AND start_wall_ns < ?"  # noqa: S608
                       " AND (end_wall_ns IS NULL OR end_wall_ns >= ?)", (camera_id, end_ns, start_ns))
    runs += index.query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE camera_id = ? AND end_wall_ns < ?"  # noqa: S608
                        " ORDER BY end_wall_ns DESC LIMIT 1", (camera_id, start_ns))
    events = index.query("SELECT kind, wall_ns, reason, detail FROM events WHERE camera_id = ? AND wall_ns >= ?"
                         " AND wall_ns < ? ORDER BY wall_ns, id",
                         (camera_id, start_ns - MERGE_TOLERANCE_NS, end_ns))
    store = EvidenceStore(index)
    return TimelineInputs(
        segments=segments,
        runs=[RunEnd(int(r[0]), r[1], r[2], r[3]) for r in runs],
        events=[CameraEvent(str(e[0]), int(e[1]), e[2], e[3]) for e in events],
        motion=motion,
        bookmarks=store.bookmarks(camera_id, building_id, start_ns, end_ns),
        holds=store.holds(camera_id, start_ns, end_ns),
    )


def recent_events(index: Index, camera_id: str, kind: str, since_ns: int, limit: int) -> list[CameraEvent]:
    """The newest `limit` events of a kind since `since_ns`, oldest first (a camera's recent outages)."""
    rows = index.query_tuples("SELECT kind, wall_ns, reason, detail FROM events WHERE camera_id = ? AND kind = ?"
                              " AND wall_ns >= ? ORDER BY wall_ns DESC, id DESC LIMIT ?",
                              (camera_id, kind, since_ns, limit))
    return [CameraEvent(str(e[0]), int(e[1]), e[2], e[3]) for e in reversed(rows)]


def segment_by_id(index: Index, segment_id: int) -> StoredSegment | None:
    """One segment's row (any state), for serving its file's bytes."""
    rows = index.query("SELECT * FROM segments WHERE id = ?", (segment_id,))
    return segment_row(rows[0]) if rows else None
