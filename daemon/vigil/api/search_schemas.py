"""JSON schemas of the search and export-listing answers (for the OpenAPI document)."""

from __future__ import annotations

from vigil.api import holds_schemas, schemas
from vigil.api.schemas import BOOL, STR, Schema, obj

SNIPPET: Schema = {"type": "array", "items": obj({"text": STR, "match": BOOL})}
SEARCH = obj({"q": STR, "match": STR, "truncated": BOOL, "results": {"type": "array", "items": obj({
    "kind": {"enum": ["bookmark", "hold"]}, "id": {"type": "integer"}, "snippet": SNIPPET,
    "item": {"oneOf": [holds_schemas.BOOKMARK, holds_schemas.HOLD]}})}})
EXPORTS: Schema = {"type": "array", "items": schemas.EXPORT}
