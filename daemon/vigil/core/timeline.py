"""A camera's timeline for a range: recorded spans, the gaps between them with their reasons,
and the marks laid over it (motion, bookmarks, evidence holds). Pure: the caller reads the index.

- Segments are coalesced into spans: a segment starting at most `MERGE_TOLERANCE_NS` after the
  previous one ended continues the span (segments of a run tile exactly; re-anchoring and a quick
  reconnect leave sub-second seams that are not worth a gap).
- The range is cut at `now`: the future is not a gap. A segment still being written (no end yet)
  counts as recorded up to `now`, unless its run has ended: then nothing writes it (the recording
  disk went away; crash recovery closes it later with its real end), so it counts up to the run's
  end at most, and what follows is a gap with the run's reason.
- A gap followed by footage of a run that had started before the gap was recorded and then
  deleted (retention deletes the oldest first). Otherwise its reason
  comes from the run that ended where the gap starts (its `end_reason`), refined by the camera's
  events in the gap (a `camera_down` names the first cause; a `record_error` saying the disk is
  full makes it `disk_full`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from vigil.core.timebase import NS_PER_SECOND

MERGE_TOLERANCE_NS = NS_PER_SECOND
_DISK_FULL_MARKERS = ("no space left", "enospc", "errno 28", "disk full")
_CAMERA_REASONS = frozenset({"timeout", "refused", "auth", "not_found", "bad_stream", "ended", "unreachable"})


class GapReason(enum.Enum):
    CAMERA_DOWN = "camera_down"  # the camera could not be reached or its stream ended
    DISK_FULL = "disk_full"
    RECORD_ERROR = "record_error"  # the recorder could not write
    FELL_BEHIND = "fell_behind"  # the recorder's queue overflowed (slow disk)
    DAEMON_STOPPED = "daemon_stopped"  # vigil was shut down
    DAEMON_CRASHED = "daemon_crashed"  # vigil died; the segment was recovered at the next start
    DELETED = "deleted"  # recorded (a run went on through it), then deleted by retention
    NOT_RECORDED = "not_recorded"  # nothing recorded before it (new camera, or retention deleted it)
    UNKNOWN = "unknown"


class SegmentSpan(NamedTuple):
    """A NamedTuple, not a dataclass: the timeline takes plain (start, end, run) index rows as
    they come (a camera-day is ~1440 of them; see bench/timeline.py)."""

    start_wall_ns: int
    end_wall_ns: int | None  # None: being written
    run_id: int


@dataclass(frozen=True)
class RunEnd:
    run_id: int
    end_wall_ns: int | None  # None: still recording (or not yet recovered)
    end_reason: str | None
    start_wall_ns: int | None = None


@dataclass(frozen=True)
class CameraEvent:
    kind: str  # camera_down, camera_up, gap, record_error, motion events…
    wall_ns: int
    reason: str | None
    detail: str | None


@dataclass(frozen=True)
class Recorded:
    start_wall_ns: int
    end_wall_ns: int
    segment_count: int
    last_run_id: int | None = None  # the run whose end the following gap follows
    first_run_id: int | None = None  # the run the preceding gap leads into


@dataclass(frozen=True)
class Gap:
    start_wall_ns: int
    end_wall_ns: int
    reason: GapReason
    detail: str | None  # the underlying cause, e.g. the camera's down reason or the error text


@dataclass(frozen=True)
class Coverage:
    recorded: tuple[Recorded, ...]
    gaps: tuple[Gap, ...]


SegmentRow = tuple[int, int | None, int]  # a SegmentSpan, or the same plain tuple


def coalesce(segments: Iterable[SegmentRow], start_ns: int, end_ns: int, now_ns: int) -> list[Recorded]:
    """Continuous recorded spans within [start, min(end, now)), oldest first."""
    stop_ns = min(end_ns, now_ns)
    spans: list[Recorded] = []
    current: list[int] | None = None  # [start, end, count, first run, last run] of the open span
    for seg_start, seg_end_or_none, run_id in sorted(segments, key=itemgetter(0)):
        seg_end = now_ns if seg_end_or_none is None else seg_end_or_none
        seg_start = seg_start if seg_start > start_ns else start_ns
        seg_end = seg_end if seg_end < stop_ns else stop_ns
        if seg_end <= seg_start:
            continue
        if current is not None and seg_start <= current[1] + MERGE_TOLERANCE_NS:
            if seg_end > current[1]:
                current[1] = seg_end
            current[2] += 1
            current[4] = run_id
            continue
        if current is not None:
            spans.append(Recorded(current[0], current[1], current[2], current[4], current[3]))
        current = [seg_start, seg_end, 1, run_id, run_id]
    if current is not None:
        spans.append(Recorded(current[0], current[1], current[2], current[4], current[3]))
    return spans


def _run_reason(reason: str) -> GapReason:
    if reason == "shutdown":
        return GapReason.DAEMON_STOPPED
    if reason == "crash":
        return GapReason.DAEMON_CRASHED
    if reason == "overflow":
        return GapReason.FELL_BEHIND
    if reason == "disk_full":  # the recorder paused (core/write_failure.py)
        return GapReason.DISK_FULL
    if reason in ("error", "write_error"):
        return GapReason.RECORD_ERROR
    return GapReason.CAMERA_DOWN if reason in _CAMERA_REASONS else GapReason.UNKNOWN


def explain_gap(start_ns: int, end_ns: int, runs: Sequence[RunEnd], events: Sequence[CameraEvent],
                previous_run_id: int | None = None, next_run_id: int | None = None) -> Gap:
    """Why nothing was recorded in [start, end): see the module docstring. `previous_run_id`: the
    run of the recording just before the gap (else the last run that ended by its start);
    `next_run_id`: the run of the recording just after it."""
    window = [e for e in events if start_ns - MERGE_TOLERANCE_NS <= e.wall_ns < end_ns]
    ended = [r for r in runs if r.end_wall_ns is not None and r.end_wall_ns <= start_ns + MERGE_TOLERANCE_NS]
    previous = next((r for r in runs if r.run_id == previous_run_id), None) or max(
        ended, key=lambda r: (r.end_wall_ns or 0, r.run_id), default=None)
    following = next((r for r in runs if r.run_id == next_run_id), None)
    if following is not None and following.start_wall_ns is not None and following.start_wall_ns <= start_ns:
        return Gap(start_ns, end_ns, GapReason.DELETED, None)
    down = next((e for e in window if e.kind == "camera_down"), None)
    errors = [e for e in window if e.kind == "record_error"]
    if any(e.reason == "disk_full" or any(m in (e.detail or "").lower() for m in _DISK_FULL_MARKERS)
           for e in errors):
        return Gap(start_ns, end_ns, GapReason.DISK_FULL, next(e.detail for e in errors if e.detail))
    if previous is not None and previous.end_reason is not None:
        reason = _run_reason(previous.end_reason)
        if reason is GapReason.RECORD_ERROR and errors:
            return Gap(start_ns, end_ns, reason, errors[0].detail)
        if reason is GapReason.CAMERA_DOWN:
            return Gap(start_ns, end_ns, reason, down.reason if down and down.reason else previous.end_reason)
        if reason is not GapReason.UNKNOWN or down is None:
            return Gap(start_ns, end_ns, reason, previous.end_reason)
    if down is not None:
        return Gap(start_ns, end_ns, GapReason.CAMERA_DOWN, down.reason)
    if errors:
        return Gap(start_ns, end_ns, GapReason.RECORD_ERROR, errors[0].detail)
    if previous is None:
        return Gap(start_ns, end_ns, GapReason.NOT_RECORDED, None)
    return Gap(start_ns, end_ns, GapReason.UNKNOWN, None)


def coverage(segments: Iterable[SegmentRow], runs: Sequence[RunEnd], events: Sequence[CameraEvent],
             start_ns: int, end_ns: int, now_ns: int) -> Coverage:
    """Recorded spans and the gaps around them, together tiling [start, min(end, now))."""
    run_ends = {r.run_id: r.end_wall_ns for r in runs if r.end_wall_ns is not None}
    segments = [(seg_start, max(seg_start, run_ends[run_id]) if seg_end is None and run_id in run_ends else seg_end,
                 run_id) for seg_start, seg_end, run_id in segments]
    recorded = coalesce(segments, start_ns, end_ns, now_ns)
    stop_ns = min(end_ns, now_ns)
    gaps: list[Gap] = []
    cursor, previous_run = start_ns, None
    for span in [*recorded, Recorded(stop_ns, stop_ns, 0)]:
        if span.start_wall_ns > cursor:
            gaps.append(explain_gap(cursor, span.start_wall_ns, runs, events, previous_run, span.first_run_id))
        cursor, previous_run = max(cursor, span.end_wall_ns), span.last_run_id
    return Coverage(tuple(recorded), tuple(gaps))


class HoldState(enum.Enum):
    ACTIVE = "active"
    EXPIRED = "expired"
    RELEASED = "released"


def hold_state(until_wall_ns: int | None, released_wall_ns: int | None, now_ns: int) -> HoldState:
    """Whether a hold protects footage now (retention honours exactly the ACTIVE ones)."""
    if released_wall_ns is not None:
        return HoldState.RELEASED
    if until_wall_ns is not None and until_wall_ns <= now_ns:
        return HoldState.EXPIRED
    return HoldState.ACTIVE
