"""The rows of the index's tables as values, and the statements that take the caller's open
connection (so a service or the recorder's queue composes them in one transaction with others,
e.g. an audit entry). store/index.py's `Index` and the per-table stores use them."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SegmentRow:
    id: int
    camera_id: str
    stream: str
    run_id: int
    seq: int
    dir_id: int
    path: str
    state: str
    start_wall_ns: int
    end_wall_ns: int | None
    media_start_90k: int
    media_duration_90k: int | None
    frame_count: int | None
    keyframe_count: int | None
    size_bytes: int | None
    sha256: str | None
    codec: str
    width: int
    height: int
    cut_reason: str | None
    recovered: bool


@dataclass(frozen=True)
class NewSegment:
    camera_id: str
    stream: str
    run_id: int
    seq: int
    dir_id: int
    path: str
    start_wall_ns: int
    media_start_90k: int
    codec: str
    width: int
    height: int


@dataclass(frozen=True)
class FinishedSegment:
    end_wall_ns: int
    media_duration_90k: int
    frame_count: int
    keyframe_count: int
    size_bytes: int
    sha256: str
    cut_reason: str
    recovered: bool = False


@dataclass(frozen=True)
class EventRow:
    id: int
    camera_id: str | None
    kind: str
    wall_ns: int
    reason: str | None
    detail: str | None


@dataclass(frozen=True)
class NewHold:
    camera_id: str | None  # None: every camera
    start_wall_ns: int
    end_wall_ns: int
    reason: str
    created_by: str
    until_wall_ns: int | None = None  # None: until released
    case_id: str | None = None
    door_event_id: int | None = None
    incident_id: int | None = None


@dataclass(frozen=True)
class NewBookmark:
    camera_id: str | None
    building_id: str | None
    start_wall_ns: int
    end_wall_ns: int
    headline: str
    created_by: str
    description: str = ""
    door_event_id: int | None = None


@dataclass(frozen=True)
class GarbageRow:
    id: int
    dir_id: int
    path: str


def where_clause(filters: dict[str, object]) -> tuple[str, list[object]]:
    """A WHERE clause AND-ing each fixed condition whose parameter is not None."""
    used = {clause: value for clause, value in filters.items() if value is not None}
    return (f"WHERE {' AND '.join(used)}" if used else ""), list(used.values())


def insert_open_segment(c: sqlite3.Connection, segment_id: int, new: NewSegment) -> None:
    """The open row of a segment whose file the recorder has already created (queued, so a busy index
    does not stop recording; recovery adopts a file whose row never came). Nothing if that id is already there."""
    c.execute(
        "INSERT OR IGNORE INTO segments (id, camera_id, stream, run_id, seq, dir_id, path, state, start_wall_ns,"
        " media_start_90k, codec, width, height) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
        (segment_id, new.camera_id, new.stream, new.run_id, new.seq, new.dir_id, new.path, new.start_wall_ns,
         new.media_start_90k, new.codec, new.width, new.height),
    )


def insert_hold(c: sqlite3.Connection, new: NewHold, now_wall_ns: int) -> int:
    """An evidence hold, inside the caller's transaction (which also writes its audit entry)."""
    cur = c.execute(
        "INSERT INTO evidence_holds (camera_id, start_wall_ns, end_wall_ns, reason, created_by, created_wall_ns,"
        " until_wall_ns, case_id, door_event_id, incident_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (new.camera_id, new.start_wall_ns, new.end_wall_ns, new.reason, new.created_by, now_wall_ns,
         new.until_wall_ns, new.case_id, new.door_event_id, new.incident_id))
    return int(cur.lastrowid or 0)


def insert_bookmark(c: sqlite3.Connection, new: NewBookmark, now_wall_ns: int) -> int:
    """A bookmark, inside the caller's transaction."""
    cur = c.execute(
        "INSERT INTO bookmarks (camera_id, building_id, start_wall_ns, end_wall_ns, headline, description,"
        " created_by, created_wall_ns, door_event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (new.camera_id, new.building_id, new.start_wall_ns, new.end_wall_ns, new.headline, new.description,
         new.created_by, now_wall_ns, new.door_event_id))
    return int(cur.lastrowid or 0)


def mark_complete(c: sqlite3.Connection, segment_id: int, done: FinishedSegment) -> None:
    c.execute(
        "UPDATE segments SET state = 'complete', end_wall_ns = ?, media_duration_90k = ?, frame_count = ?,"
        " keyframe_count = ?, size_bytes = ?, sha256 = ?, cut_reason = ?, recovered = ? WHERE id = ?",
        (done.end_wall_ns, done.media_duration_90k, done.frame_count, done.keyframe_count, done.size_bytes,
         done.sha256, done.cut_reason, int(done.recovered), segment_id),
    )


def segment_row(row: sqlite3.Row) -> SegmentRow:
    values = dict(row)
    values["recovered"] = bool(values["recovered"])
    return SegmentRow(**values)


def json_object_or_none(text: str | None) -> dict[str, Any] | None:
    """A JSON column that holds an object, or None (NULL, or not an object: what a site sent)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
