"""JSON schemas of the bookmark, evidence-hold, timeline and storage bodies (for the OpenAPI document)."""

from __future__ import annotations

from vigil.api.schemas import BOOL, DOOR_EVENT, INT, NINT, NSTR, REASON, SCOPE, STR, Schema, obj

NUM: Schema = {"type": "number"}
NNUM: Schema = {"type": ["number", "null"]}
TIME: Schema = {"type": ["string", "number"]}
SPAN = {"start": STR, "end": STR, "start_wall_ns": INT, "end_wall_ns": INT}

BOOKMARK = obj(SPAN | {"id": INT, "camera": NSTR, "building": NSTR, "headline": STR, "description": STR,
                      "created_by": STR, "created_at": STR, "door_event_id": NINT})
BOOKMARKS = {"type": "array", "items": BOOKMARK}
BOOKMARK_BODY = obj({"start": TIME, "headline": {"type": "string", "minLength": 1, "maxLength": 200,
                                                 "pattern": "\\S"}},
                    {"camera": STR, "building": STR, "end": TIME, "description": {"type": "string", "maxLength": 4000}})
HOLD_STATE = {"enum": ["active", "expired", "released"]}
HOLD = obj(SPAN | {"id": INT, "camera": NSTR, "until": NSTR, "state": HOLD_STATE, "released_at": NSTR,
                  "created_at": STR, "door_event_id": NINT, "incident_id": NINT,
                  "until_incident_ends": BOOL},
           {"reason": STR, "case_id": NSTR, "created_by": STR, "released_by": NSTR})
HOLDS = {"type": "array", "items": HOLD}
HOLD_BODY = obj({"start": TIME, "end": TIME, "reason": REASON},
                {"cameras": {"type": "array", "items": STR}, "buildings": {"type": "array", "items": STR},
                 "all_cameras": BOOL, "case_id": {"type": ["string", "null"], "maxLength": 100},
                 "until": {"type": ["string", "number", "null"]}})
HOLDS_CREATED = obj({"holds": HOLDS})
RELEASE_BODY = obj({"reason": REASON})
TIMELINE = obj({
    "camera": STR, "start": STR, "end": STR, "now": STR,
    "recorded": {"type": "array", "items": obj(SPAN | {"segments": INT})},
    "gaps": {"type": "array", "items": obj(SPAN | {"reason": {"enum": [
        "camera_down", "disk_full", "record_error", "fell_behind", "daemon_stopped", "daemon_crashed",
        "deleted", "not_recorded", "unknown"]}, "detail": NSTR})},
    "motion": {"type": "array", "items": obj(SPAN | {"peak": NUM})},
    "bookmarks": BOOKMARKS, "holds": HOLDS, "door_events": {"type": "array", "items": DOOR_EVENT}})
STORAGE = obj({
    "disks": {"type": "array", "items": obj({"path": STR, "capacity_bytes": INT, "used_bytes": INT,
                                             "free_bytes": INT})},
    "scope": SCOPE, "recorded_bytes": INT, "held_bytes": INT, "budget_bytes": NINT, "max_bytes": NINT,
    "min_free_bytes": NINT,
    "retain_days": NNUM,
    "warning": obj({"level": {"enum": ["ok", "warning", "critical"]}, "message": STR, "held_fraction": NNUM}),
    "cameras": {"type": "array", "items": obj({"id": STR, "recorded_bytes": INT, "held_bytes": INT, "segments": INT,
                                               "oldest": NSTR, "newest": NSTR})}})
