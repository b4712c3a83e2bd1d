"""JSON schemas of the incident bodies (issue 16; for the OpenAPI document and its fuzz test)."""

from __future__ import annotations

from vigil.api.schemas import BOOL, DOOR_EVENT, IDS, INT, NINT, NSTR, STR, Schema, obj

REASON_TEXT: Schema = {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S"}
NOTE_TEXT: Schema = {"type": "string", "minLength": 1, "maxLength": 4000, "pattern": "\\S"}
VIA: Schema = {"enum": ["api", "cli", "mqtt", "door_rule"]}

DELIVERY = obj({"id": INT, "event": {"enum": ["declared", "ended"]}, "recipient": STR,
                "state": {"enum": ["pending", "delivered", "failed", "skipped"]}, "attempts": INT,
                "last_error": NSTR, "next_attempt_at": NSTR, "delivered_at": NSTR})
INCIDENT = obj({
    "id": INT, "building": STR, "building_name": STR, "cameras": IDS, "whole_building": BOOL, "reason": STR,
    "drill": BOOL, "state": {"enum": ["open", "ended"]}, "declared_by": STR, "declared_via": VIA,
    "declared_at": STR, "declared_wall_ns": INT, "hold_start": STR, "hold_start_wall_ns": INT, "hold_end": NSTR,
    "hold_end_wall_ns": NINT, "ended_at": NSTR, "ended_by": NSTR, "end_note": NSTR, "link_id": NINT,
    "link_url": NSTR, "report_cameras": IDS, "report_export_id": NINT,
    "joins": {"type": "array", "items": obj({"actor": STR, "via": VIA, "reason": STR, "at": STR})},
    "deliveries": {"type": "array", "items": DELIVERY}})
INCIDENTS = obj({"incidents": {"type": "array", "items": INCIDENT}})
DECLARED = obj({"incident": INCIDENT, "joined": BOOL})
DECLARE_BODY = obj({"reason": REASON_TEXT}, {"building": STR, "cameras": IDS, "drill": BOOL})
END_BODY = obj({"note": NOTE_TEXT}, {"report_cameras": IDS})
ACTIVITY = obj({
    "viewers": {"type": "array", "items": obj({"link_id": INT, "camera": STR, "started_at": STR},
                                              {"remote": NSTR})},
    "accesses": {"type": "array", "items": obj({"at": STR, "action": STR, "target": STR,
                                                "detail": {"type": "object"}}, {"outcome": STR})}})
DOOR_EVENTS = obj({"door_events": {"type": "array", "items": DOOR_EVENT}})
