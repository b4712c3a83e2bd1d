"""JSON schemas of the configuration routes (api/camera_config.py; design/cameras.md)."""

from __future__ import annotations

from vigil.api.schemas import BOOL, IDS, INT, NSTR, STR, Schema, obj

NUM: Schema = {"type": "number"}
RECT: Schema = {"type": "array", "items": NUM, "minItems": 4, "maxItems": 4}
TRANSPORT: Schema = {"enum": ["tcp", "udp"]}
MOTION: Schema = {"enum": ["auto", "substream", "keyframes", "off"]}
TALK: Schema = {"enum": ["off", "onvif", "vapix"]}
INGEST: Schema = {"enum": ["ffmpeg", "native"]}  # which RTSP client reads the camera (design/ingest.md)
SETTINGS: dict[str, Schema] = {
    "building": STR, "name": STR, "url": STR, "substream_url": NSTR, "username": NSTR, "transport": TRANSPORT,
    "timeout_s": NUM, "enabled": BOOL, "motion": MOTION, "motion_sensitivity": NUM,
    "motion_mask": {"type": "array", "items": RECT}, "record_audio": BOOL, "talk": TALK, "talk_url": NSTR,
    "ingest": INGEST}
CAMERA_SETTING = obj({"id": STR, "password_set": BOOL} | SETTINGS)
RELOAD_RESULT = obj({"added": IDS, "removed": IDS, "restarted": IDS, "updated": IDS, "unchanged": INT,
                     "restart_needed": IDS})
APPLIED = obj({"applied": RELOAD_RESULT})
CAMERA_SETTINGS = obj({"cameras": {"type": "array", "items": CAMERA_SETTING}, "writable": BOOL,
                       "read_only_reason": NSTR})
CAMERA_APPLIED = obj({"camera": CAMERA_SETTING, "applied": RELOAD_RESULT})
PASSWORD: dict[str, Schema] = {"password": NSTR}  # absent: unchanged; null: cleared (with the username)
CAMERA_CREATE = obj({"id": STR, "building": STR, "name": STR, "url": STR},
                    {k: v for k, v in SETTINGS.items() if k not in ("building", "name", "url")} | PASSWORD)
CAMERA_PATCH = obj({}, {"id": STR} | SETTINGS | PASSWORD)
BUILDING = obj({"id": STR, "name": STR})
BUILDING_SETTINGS = obj({"buildings": {"type": "array", "items": BUILDING}, "writable": BOOL,
                         "read_only_reason": NSTR})
BUILDING_APPLIED = obj({"building": BUILDING, "applied": RELOAD_RESULT})
BUILDING_PATCH = obj({}, {"id": STR, "name": STR})
