"""JSON schemas of the district routes (api/district.py)."""

from __future__ import annotations

from vigil.api.schemas import BOOL, INT, NSTR, STR, SUBJECT, Schema, obj

NINT: Schema = {"type": ["integer", "null"]}
SESSION_BODY = obj({"token": {"type": "string", "minLength": 1, "maxLength": 4096}})
SESSION = obj({"user": SUBJECT, "csrf_token": STR, "expires_at": STR})
RENEWED = obj({"expires_at": STR})
PUBLISHER = obj({"connected": BOOL, "queued": INT, "dropped": INT, "last_error": NSTR})
DISTRICT = obj({"enrolled": BOOL, "site_id": NSTR, "hub_id": NSTR, "hub_name": NSTR, "hub_url": NSTR,
                "broker": {"oneOf": [{"type": "null"}, obj({"host": STR, "port": INT})]},
                "publisher": PUBLISHER})
