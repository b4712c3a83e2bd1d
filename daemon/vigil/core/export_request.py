"""What an export request may ask for. Pure: the API hands in the JSON body's values and the
configured cameras; this returns the request or says what is wrong with it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vigil.core.errors import BadRequestError, NotFoundError
from vigil.core.timebase import NS_PER_SECOND, parse_time_ns

MAX_REASON_CHARS = 500
MAX_CASE_ID_CHARS = 100
MAX_RANGE_NS = 24 * 3600 * NS_PER_SECOND  # one export is at most a day: bounded work, bounded size
MAX_CAMERAS = 32


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
