"""JSON schemas of camera setup (issue 15): discovery, scans, probes (api/camera_setup.py)."""

from __future__ import annotations

from vigil.api.schemas import BOOL, INT, NINT, NSTR, STR, Schema, obj

NUM: Schema = {"type": "number"}
NNUM: Schema = {"type": ["number", "null"]}
DEVICE = obj({"address": STR, "xaddr": STR, "name": NSTR, "model": NSTR, "manufacturer": NSTR, "hardware": NSTR,
              "scopes": {"type": "array", "items": STR}, "configured_camera": NSTR})
DEVICES = obj({"devices": {"type": "array", "items": DEVICE}})
DISCOVER_BODY = obj({}, {"timeout_s": {"type": "number", "minimum": 1, "maximum": 10}})
SCAN_BODY = obj({"range": STR}, {"ports": {"type": "array", "items": {"type": "integer", "minimum": 1,
                                                                      "maximum": 65535}, "minItems": 1,
                                           "maxItems": 8}})
PROBE_BODY = obj({}, {"xaddr": STR, "address": STR, "username": STR, "password": STR})
RECEIVED = obj({"codec": STR, "width": INT, "height": INT, "fps": NNUM, "gop_frames": NINT, "bframes": BOOL})
PROFILE = obj({"token": STR, "name": STR, "encoding": STR, "width": INT, "height": INT, "fps": NNUM,
               "stream_url": NSTR, "snapshot_url": NSTR,
               "received": {"oneOf": [{"type": "null"}, RECEIVED]}, "problem": NSTR,
               "live": obj({"ok": BOOL, "note": STR})})
PROPOSAL = obj({"url": STR, "substream_url": NSTR, "name": STR, "username": NSTR, "id": STR})
PROBE = obj({
    "device": obj({"manufacturer": NSTR, "model": NSTR, "firmware": NSTR, "serial": NSTR, "hardware": NSTR}),
    "clock": obj({"camera_utc": NSTR, "skew_s": NNUM, "warning": NSTR}),
    "media2": BOOL, "backchannel": BOOL, "profiles": {"type": "array", "items": PROFILE},
    "proposal": {"oneOf": [{"type": "null"}, PROPOSAL]}, "snapshot_jpeg_base64": NSTR,
    "warnings": {"type": "array", "items": STR}})
# problem types of camera setup, for the OpenAPI description (core/errors.py has their statuses)
PROBLEM_TYPES = ("address-not-allowed (403: outside [camera_setup] probe_networks; nothing was sent), "
                 "onvif-unauthorized and rtsp-unauthorized (422: wrong user name or password, for ONVIF or for the "
                 "stream), unreachable, not-onvif, soap-fault, malformed-xml (also XML bombs), not-video (502)")
