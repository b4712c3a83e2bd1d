"""What an export request may ask for. Pure: the API hands in the JSON body's values and the
configured cameras; this returns the request or says what is wrong with it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vigil.core.errors import BadRequestError, NotFoundError, NotReadyError
from vigil.core.timebase import NS_PER_SECOND, parse_time_ns, wall_ns_to_iso

MAX_REASON_CHARS = 500
MAX_CASE_ID_CHARS = 100
MAX_RANGE_NS = 24 * 3600 * NS_PER_SECOND  # one export is at most a day: bounded work, bounded size
MAX_CAMERAS = 32
# A segment closes at the first keyframe at or after its target length: allow a long GOP.
CLOSE_MARGIN_NS = 5 * NS_PER_SECOND
OVERDUE_RETRY_S = 10


@dataclass(frozen=True)
class ExportRequest:
    cameras: tuple[str, ...]  # sorted, unique
    start_wall_ns: int
    end_wall_ns: int
    reason: str
    case_id: str | None


def _ids(body: Mapping[str, Any], key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequestError(f"{key} must be a list of ids")
    return value


def requested_cameras(body: Mapping[str, Any], camera_buildings: Mapping[str, str]) -> tuple[str, ...]:
    """The cameras named, directly or through their buildings (checked first: permissions need them)."""
    cameras, buildings = _ids(body, "cameras"), _ids(body, "buildings")
    unknown = [c for c in cameras if c not in camera_buildings]
    if unknown:
        raise NotFoundError(f"no camera {unknown[0]!r}")
    known_buildings = set(camera_buildings.values())
    unknown = [b for b in buildings if b not in known_buildings]
    if unknown:
        raise NotFoundError(f"no building {unknown[0]!r} (or it has no cameras)")
    chosen = set(cameras) | {c for c, b in camera_buildings.items() if b in buildings}
    if not chosen:
        raise BadRequestError("name at least one camera (cameras) or building (buildings)")
    if len(chosen) > MAX_CAMERAS:
        raise BadRequestError(f"at most {MAX_CAMERAS} cameras per export")
    return tuple(sorted(chosen))


def _time(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BadRequestError(f"{key} is required (ISO 8601 or Unix seconds)")
    try:
        return parse_time_ns(str(value))
    except ValueError as error:
        raise BadRequestError(f"{key}: {error}") from None


def parse_export_request(body: Mapping[str, Any], cameras: tuple[str, ...], now_wall_ns: int) -> ExportRequest:
    reason, case_id = body.get("reason"), body.get("case_id")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_CHARS:
        raise BadRequestError(f"reason (why this footage leaves the appliance, 1-{MAX_REASON_CHARS} characters)"
                              " is required")
    if case_id is not None and (not isinstance(case_id, str) or not case_id.strip()
                                or len(case_id) > MAX_CASE_ID_CHARS):
        raise BadRequestError(f"case_id must be text of 1-{MAX_CASE_ID_CHARS} characters")
    start, end = _time(body, "start"), _time(body, "end")
    if end <= start:
        raise BadRequestError("end must be after start")
    if end - start > MAX_RANGE_NS:
        raise BadRequestError("the range may be at most 24 hours; export longer spans in parts")
    if start >= now_wall_ns:
        raise BadRequestError("start is in the future")
    return ExportRequest(cameras, start, end, reason.strip(), case_id.strip() if case_id else None)


def require_complete_footage(request: ExportRequest, open_segment_starts: Mapping[str, int], segment_ns: int,
                             now_wall_ns: int) -> None:
    """Refuse (NotReadyError: 409 with Retry-After) an export whose range reaches into a segment
    still being written. A package holds complete segments only, each with the SHA-256 taken when
    it closed, so that footage cannot be exported yet; calling it "not recorded" would be false.

    open_segment_starts: camera id -> start of its open segment, for those starting before the
    range's end. The range is complete once the segment holding its end has closed, at its first
    keyframe at or after `segment_ns` (the target length; CLOSE_MARGIN_NS for the GOP): the open
    one when the end is already past (or falls within its target), else one not begun yet, which
    closes by end + segment_ns. The time given is that estimate; an open segment past it (the
    recorder behind, the disk away, a crash not yet recovered) gets "ask again shortly"."""
    if not open_segment_starts:
        return
    end = request.end_wall_ns
    ready = max((start if end <= max(now_wall_ns, start + segment_ns) else end) + segment_ns + CLOSE_MARGIN_NS
                for start in open_segment_starts.values())
    camera, since = min(open_segment_starts.items(), key=lambda item: (item[1], item[0]))
    others = len(open_segment_starts) - 1
    who = f"camera {camera!r}" + (f" (and {others} more)" if others else "")
    if ready <= now_wall_ns:
        retry_after_s = OVERDUE_RETRY_S
        when = (f"it should have closed by {wall_ns_to_iso(ready)} and has not yet (the recorder is behind, or"
                f" waits for the recording disk): ask again in {retry_after_s} s")
    else:
        retry_after_s = -(-(ready - now_wall_ns) // NS_PER_SECOND)
        when = f"this range can be exported from about {wall_ns_to_iso(ready)} (in {retry_after_s} s)"
    raise NotReadyError(
        f"{who} is still writing the footage from {wall_ns_to_iso(since)} on, and exports hold complete"
        f" segments only (each with the SHA-256 taken when it closed): {when}; a range ending before"
        f" {wall_ns_to_iso(since)} can be exported now", retry_after_s)
