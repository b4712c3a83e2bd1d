"""JSON schemas of the floor-plan and placement routes (api/plans.py)."""

from __future__ import annotations

from vigil.api.schemas import IDS, INT, NSTR, STR, Schema, obj

NUM: Schema = {"type": "number"}
NNUM: Schema = {"type": ["number", "null"]}
PLAN = obj({"id": INT, "building": NSTR, "floor": STR, "level": INT, "name": STR,
            "content_type": {"enum": ["image/png", "image/jpeg"]}, "width_px": INT, "height_px": INT,
            "size_bytes": INT, "sha256": STR, "created_by": STR, "created_at": STR, "image": STR})
PLANS: Schema = {"type": "array", "items": PLAN}
PLAN_IMAGE_BODY: Schema = {"type": "string", "format": "binary"}
KIND: Schema = {"enum": ["camera", "door", "building"]}
PLACEMENT = obj({"id": INT, "plan": INT, "kind": KIND, "item": STR, "x": NUM, "y": NUM, "rotation_deg": NUM,
                 "fov_deg": NNUM, "range_px": NNUM, "updated_by": STR, "updated_at": STR})
PLACEMENTS: Schema = {"type": "array", "items": PLACEMENT}
PLACEMENT_BODY = obj({"plan": INT, "kind": KIND, "item": STR, "x": NUM, "y": NUM},
                     {"rotation_deg": NUM, "fov_deg": NUM, "range_px": NUM})
DOORS: Schema = {"type": "array", "items": obj({"id": STR, "name": STR, "building": STR, "cameras": IDS})}
