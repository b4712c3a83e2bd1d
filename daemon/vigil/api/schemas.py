"""JSON schemas of the API's bodies, used by the OpenAPI document (and so by its fuzz test)."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
NSTR: Schema = {"type": ["string", "null"]}
INT: Schema = {"type": "integer"}
NINT: Schema = {"type": ["integer", "null"]}
BOOL: Schema = {"type": "boolean"}
IDS: Schema = {"type": "array", "items": STR}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {"type": "object", "required": sorted(required), "properties": required | (optional or {})}


PROBLEM = obj({"type": STR, "title": STR, "status": INT, "detail": STR},
              {"errors": {"type": "array", "items": obj({"field": STR, "message": STR})}})
SUBJECT = obj({"kind": {"enum": ["user", "link"]}},
              {"name": STR, "role": STR, "buildings": IDS, "cameras": IDS, "link_id": INT, "live": BOOL,
               "playback": BOOL, "talk": BOOL, "expires_at": STR, "playback_start": NSTR, "playback_end": NSTR,
               "csrf_token": STR,
               # per action: the buildings where the caller may take it (["*"]: appliance-wide)
               "can": {"type": "object", "additionalProperties": IDS},
               # a session made from a district hub token names its hub (issue 17); else null
               "district": {"oneOf": [{"type": "null"}, obj({"hub_name": STR, "hub_url": STR, "expires_at": STR})]}})
SCOPE: Schema = {"enum": ["appliance", "caller"]}  # core.figure_scope
HEALTH = obj({"status": {"enum": ["ok", "degraded"]}, "version": STR, "uptime_s": {"type": "number"},
              "cameras": obj({"total": INT, "up": INT, "recording": INT},
                             {"paused": {"type": "object", "additionalProperties": {"enum": ["disk_full",
                                                                                           "write_error"]}},
                              # camera -> its clock - the appliance's in ms (RTCP, native ingest); null: unknown
                              "clock_skew_ms": {"type": "object",
                                                "additionalProperties": {"type": ["number", "null"]}}}),
              "live_sessions": INT, "scope": SCOPE},
             {"storage": {"enum": ["ok", "missing", "foreign", "full"]}, "tasks": INT, "live_transcodes": INT,
              "storage_budget": {"oneOf": [{"type": "null"},
                                           obj({"key": STR, "impossible": BOOL, "message": STR})]},
              # the A/B slots on an appliance (design/appliance.md, "Updates")
              "update": obj({"booted": NSTR}, {"rolled_back": {"type": ["object", "null"]}})})
UPDATE_BODY = obj({"url": {"type": "string", "minLength": 1, "maxLength": 2000}},
                  {"reboot": {"type": "string", "description": "now, never (default) or HH:MM, local time"}})
UPDATE_REQUESTED = obj({"state": {"enum": ["requested"]}, "version": STR, "reboot": STR})
UPDATE_STATUS = obj({"update": {"type": ["object", "null"]}, "slots": {"type": ["object", "null"]}})
AVAILABLE_CAMERAS = {"type": "array", "items": obj({"device": STR, "name": STR, "bus": STR, "transcodes": BOOL,
                                                    "note": STR, "addable": BOOL, "why_not": NSTR})}
BUILDINGS = {"type": "array", "items": obj({"id": STR, "name": STR, "cameras": IDS})}
CAMERAS = {"type": "array", "items": obj({
    "id": STR, "name": STR, "building": STR,
    "status": obj({"state": {"enum": ["starting", "up", "down"]}, "reason": NSTR, "recording": BOOL,
                   "last_frame_at": NSTR, "clock_skew_ms": {"type": ["number", "null"]}}),
    "gaps_24h": {"type": "array", "items": obj({"at": STR, "reason": NSTR})},
    "has_substream": BOOL,
    "audio": {"enum": ["pcmu", "pcma", "aac", "opus", None]},  # the camera's sound, as its latest session sent it
    "talk": BOOL,  # talk is configured and the caller may talk through it (design/intercom.md)
})}
SEGMENTS = obj({"camera": STR, "start": STR, "end": STR, "truncated": BOOL, "segments": {"type": "array", "items": obj({
    "id": INT, "start": STR, "end": STR, "start_wall_ns": INT, "end_wall_ns": INT, "duration_s": {"type": "number"},
    "frame_count": INT, "size_bytes": INT, "sha256": STR, "codec": STR, "width": INT, "height": INT,
    "recovered": BOOL})}})
LOGIN_BODY = obj({"name": {"type": "string", "minLength": 1, "maxLength": 200},
                  "password": {"type": "string", "minLength": 1}})
LOGIN = obj({"user": SUBJECT, "csrf_token": STR, "expires_at": STR})
LINK = obj({"id": INT, "state": {"enum": ["active", "expired", "revoked"]}, "created_by": STR, "reason": STR,
            "cameras": IDS, "buildings": IDS, "live": BOOL, "playback": BOOL, "talk": BOOL, "playback_start": NSTR,
            "playback_end": NSTR, "created_at": STR, "expires_at": STR, "revoked_at": NSTR, "use_count": INT,
            "last_used_at": NSTR}, {"url": STR})
REASON: Schema = {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S"}
LINK_BODY = obj({"reason": REASON}, {"cameras": IDS, "buildings": IDS, "live": BOOL, "playback": BOOL, "talk": BOOL,
                                  "expires_in": {"type": ["string", "number"]}, "playback_start": STR,
                                  "playback_end": STR})
AUDIT = {"type": "array", "items": obj({"id": INT, "at": STR, "actor": STR, "action": STR, "target": STR,
                                        "outcome": STR, "detail": {"type": "object"}, "hash": STR})}
SIGNED_OUT = obj({"signed_out": BOOL})
OPENAPI = {"type": "object"}
ICE_SERVERS = obj({"ice_servers": {"type": "array", "items": obj({"urls": IDS}, {"username": STR,
                                                                               "credential": STR})}})
MOTION = obj({"camera": STR, "start": STR, "end": STR, "heatmap": {"type": "array", "items": {"type": "array"}},
               "intervals": {"type": "array", "items": obj({
                   "start": STR, "end": STR, "start_wall_ns": INT, "end_wall_ns": INT, "peak": {"type": "number"},
                   "cells": {"type": "array", "items": {"type": "array", "items": INT}}})}})
# door events
DOOR_EVENT = obj({
    "id": INT, "source": STR, "event_id": STR, "kind": STR, "reason": NSTR, "occurred_at": STR, "received_at": STR,
    "occurred_wall_ns": INT, "skew_s": {"type": "number"}, "access_point": NSTR, "door": NSTR, "direction": NSTR,
    "building": NSTR, "cameras": IDS, "credential_last4": NSTR, "cardholder": NSTR, "severity": STR, "flagged": BOOL,
    "flag_reasons": IDS, "unmapped": BOOL, "acked_by": NSTR, "acked_at": NSTR}, {"raw": NSTR, "raw_truncated": BOOL})
DOOR_EVENTS = obj({"start": STR, "end": STR, "truncated": BOOL, "events": {"type": "array", "items": DOOR_EVENT}})
DOOR_EVENT_BODY = obj({"source": STR, "event_id": {"type": ["string", "integer"]}, "occurred_at": STR, "kind": STR},
                      {"schema": {"const": "door-event/v1"}, "access_point": STR, "reason": STR,
                       "credential": {"type": ["string", "integer"]}, "cardholder": STR, "raw": {}})
DOOR_EVENT_POSTED = obj({"id": INT, "duplicate": BOOL, "flagged": BOOL})
# --- evidence exports (issue 7) ---
EXPORT = obj({"id": INT, "state": {"enum": ["queued", "running", "done", "failed"]}, "created_by": STR,
              "created_at": STR, "cameras": IDS, "start": STR, "end": STR, "start_wall_ns": INT, "end_wall_ns": INT,
              "reason": STR, "case_id": NSTR, "segments_total": INT, "segments_done": INT, "bytes_total": INT,
              "bytes_done": INT, "error": NSTR, "finished_at": NSTR, "size_bytes": NINT, "manifest_sha256": NSTR,
              "download": NSTR, "incident": NINT})
EXPORT_BODY = obj({"reason": REASON, "start": {"type": ["string", "integer"]}, "end": {"type": ["string", "integer"]}},
                  {"cameras": IDS, "buildings": IDS, "case_id": {"type": "string", "minLength": 1, "maxLength": 100}})
# saved live-wall views (api/wall_views.py)
VIEW_TILES: Schema = {"type": "array", "maxItems": 16, "items": NSTR}
WALL_VIEW = obj({"id": INT, "name": STR, "layout": {"enum": [1, 4, 9, 16]}, "cameras": VIEW_TILES,
                 "created_at": STR, "updated_at": STR})
WALL_VIEWS = {"type": "array", "items": WALL_VIEW}
WALL_VIEW_BODY = obj({"name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"},
                      "layout": {"enum": [1, 4, 9, 16]}}, {"cameras": VIEW_TILES})
