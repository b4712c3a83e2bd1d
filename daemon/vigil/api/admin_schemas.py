"""JSON schemas of the administration routes (users, API tokens, the audit chain's check)."""

from __future__ import annotations

from vigil.api.schemas import BOOL, IDS, INT, NINT, NSTR, STR, Schema, obj
from vigil.core.permissions import Role

ROLE: Schema = {"enum": [r.value for r in Role]}
USER = obj({"name": STR, "role": ROLE, "buildings": IDS, "disabled": BOOL})
USERS: Schema = {"type": "array", "items": USER}
USER_BODY = obj({"name": {"type": "string", "minLength": 1, "maxLength": 64}, "role": ROLE,
                 "password": {"type": "string", "minLength": 10}}, {"buildings": IDS})
ROLE_BODY = obj({"role": ROLE}, {"buildings": IDS})
TOKEN = obj({"id": INT, "user": STR, "label": STR, "created_at": STR, "revoked_at": NSTR,
             "state": {"enum": ["active", "revoked"]}}, {"token": STR})
TOKENS: Schema = {"type": "array", "items": TOKEN}
TOKEN_BODY = obj({"user": STR, "label": {"type": "string", "minLength": 1, "maxLength": 100}})
AUDIT_CHECK = obj({"ok": BOOL, "entries": INT, "head_hash": STR, "first_broken_id": NINT, "problem": NSTR})
