"""Floor plans and pin placements: upload, list, serve and delete plans; place, move and remove
pins. Each change commits with its audit entry in ONE transaction, on a database thread.

Who may change: CONFIGURE_CAMERAS (building_admin and installer in their buildings, district_admin
everywhere) on the plan's building and on the pinned item's building; the campus plan is about
every building, so only who configures every building changes it or its pins.
Who sees: a building's plans if the caller sees the building (or, through a responder link, any of
its cameras); the campus plan is the site itself and seen by everyone signed in, but only the
pins of what the caller may see are listed on it."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from vigil.config import Config
from vigil.core.errors import BadRequestError, ConflictError, PermissionDeniedError, UnsupportedMediaTypeError
from vigil.core.permissions import Action, Target
from vigil.core.placements import PinKind, PlacementRequest, PlanRequest, make_placement, plan_id_of
from vigil.core.plan_image import inspect_plan_image
from vigil.core.timebase import wall_ns_to_iso
from vigil.plans.decode import check_decodes
from vigil.services.authorize import audit_denial_sync, require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.services.visibility import sees_camera, visible_building_ids
from vigil.store import plans as plans_store
from vigil.store.audit_log import append_in
from vigil.store.plans import PlacementRow, PlanRow, PlanStore

__all__ = ["PlacementRow", "PlanRow", "create_plan", "delete_plan", "list_doors", "list_placements", "list_plans",
           "place", "placement_json", "plan_image", "plan_json", "remove_placement"]


def plan_json(row: PlanRow) -> dict[str, Any]:
    return {"id": row.id, "building": row.building_id, "floor": row.floor, "level": row.level, "name": row.name,
            "content_type": row.content_type, "width_px": row.width_px, "height_px": row.height_px,
            "size_bytes": row.size_bytes, "sha256": row.sha256, "created_by": row.created_by,
            "created_at": wall_ns_to_iso(row.created_wall_ns), "image": f"/api/plans/{row.id}/image"}


def placement_json(row: PlacementRow) -> dict[str, Any]:
    return {"id": row.id, "plan": row.plan_id, "kind": row.kind.value, "item": row.item_id, "x": row.x_px,
            "y": row.y_px, "rotation_deg": row.rotation_deg, "fov_deg": row.fov_deg, "range_px": row.range_px,
            "updated_by": row.updated_by, "updated_at": wall_ns_to_iso(row.updated_wall_ns)}


# --- who sees, who changes -----------------------------------------------------------------------

def _plan_visible(config: Config, caller: Caller, building_id: str | None) -> bool:
    if building_id is None:
        return True
    if building_id in visible_building_ids(config, caller):
        return True
    return any(sees_camera(caller, c.id, c.building) for c in config.cameras if c.building == building_id)


def _item_building(config: Config, kind: PinKind, item_id: str) -> str | None:
    """The building the item is in (None: no such item in the configuration)."""
    if kind is PinKind.CAMERA:
        return config.building_of(item_id)
    if kind is PinKind.DOOR:
        return next((d.building for d in config.doors if d.id == item_id), None)
    return item_id if any(b.id == item_id for b in config.buildings) else None


def _item_visible(config: Config, caller: Caller, row: PlacementRow) -> bool:
    building = _item_building(config, row.kind, row.item_id)
    if building is None:  # taken out of the configuration since it was placed
        return False
    if row.kind is PinKind.CAMERA:
        return sees_camera(caller, row.item_id, building)
    return building in visible_building_ids(config, caller)


def _plan_targets(config: Config, building_id: str | None) -> list[Target]:
    if building_id is None:
        return [Target(building=b) for b in sorted(b.id for b in config.buildings)]
    return [Target(building=building_id)]


async def _require_configure(env: ServiceEnv, caller: Caller, buildings: Sequence[str | None]) -> None:
    """configure_cameras in each building (None: the campus plan's, about every building)."""
    for building in dict.fromkeys(buildings):
        for target in _plan_targets(env.config, building):
            await require(env, caller, Action.CONFIGURE_CAMERAS, target)


async def _require_sees(env: ServiceEnv, caller: Caller, plan: PlanRow) -> None:
    if not _plan_visible(env.config, caller, plan.building_id):
        why = f"building {plan.building_id} is outside what {caller.actor} may see"
        await env.run(lambda: audit_denial_sync(env, caller, "plan.read", f"plan:{plan.id}", why))
        raise PermissionDeniedError(f"not allowed: {why}")


def list_doors(env: ServiceEnv, caller: Caller) -> list[dict[str, Any]]:
    """The configured doors of the buildings the caller sees (what the map pins), each with the
    cameras the caller sees of it."""
    buildings = visible_building_ids(env.config, caller)
    return [{"id": d.id, "name": d.name, "building": d.building,
             "cameras": [c for c in d.cameras if sees_camera(caller, c, d.building)]}
            for d in env.config.doors if d.building in buildings]


# --- plans ---------------------------------------------------------------------------------------

async def list_plans(env: ServiceEnv, caller: Caller, building_id: str | None = None) -> list[PlanRow]:
    """The plans the caller may see (optionally of one building), campus first, floors in level order."""
    rows = await env.run(lambda: PlanStore(env.index).plans())
    return [r for r in rows if _plan_visible(env.config, caller, r.building_id)
            and (building_id is None or r.building_id == building_id)]


async def create_plan(env: ServiceEnv, caller: Caller, req: PlanRequest, image: bytes,
                      declared_type: str | None = None) -> PlanRow:
    """Store an uploaded plan: 403 first, then 413/415/400 on the image (core/plan_image.py, then a
    full decode; a `declared_type` must agree with the bytes), 409 if the floor already has one
    (delete it first: its pins go with it)."""
    await _require_configure(env, caller, [req.building_id])
    info = inspect_plan_image(image)
    if declared_type is not None and declared_type != info.format.content_type:
        raise UnsupportedMediaTypeError(f"the body is a {info.format.name} image but was sent as {declared_type}")
    await asyncio.to_thread(check_decodes, image, info)
    sha256 = hashlib.sha256(image).hexdigest()

    def write() -> PlanRow:
        with env.index.transaction() as c:
            if plans_store.plan_at(c, req.building_id, req.floor) is not None:
                where = "the campus" if req.building_id is None else f"floor {req.floor!r} of {req.building_id}"
                raise ConflictError(f"{where} already has a plan; delete it first to replace it")
            plan_id = plans_store.insert_plan(c, req, info, sha256, image, caller.actor, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "plan.create", f"plan:{plan_id}", "ok", caller.audit_detail({
                "building": req.building_id, "floor": req.floor, "level": req.level, "name": req.name,
                "content_type": info.format.content_type, "width_px": info.width_px, "height_px": info.height_px,
                "size_bytes": info.size_bytes, "sha256": sha256}))
            return plans_store.plan_in(c, plan_id)

    return await env.run(write)


async def _read_plan(env: ServiceEnv, plan_id: int) -> PlanRow:
    return await env.run(lambda: PlanStore(env.index).plan(plan_id))


async def plan_image(env: ServiceEnv, caller: Caller, plan_id: int) -> tuple[str, str, bytes]:
    """The plan's content type, sha256 and image, for who may see the plan (404 unknown, 403 not)."""
    await _require_sees(env, caller, await _read_plan(env, plan_id))

    return await env.run(lambda: PlanStore(env.index).image(plan_id))


async def delete_plan(env: ServiceEnv, caller: Caller, plan_id: int) -> PlanRow:
    """Delete a plan and every pin on it."""
    plan = await _read_plan(env, plan_id)
    await _require_configure(env, caller, [plan.building_id])

    def write() -> PlanRow:
        with env.index.transaction() as c:
            pins = plans_store.delete_plan_in(c, plan_id)
            append_in(c, caller.now_ns, caller.actor, "plan.delete", f"plan:{plan_id}", "ok", caller.audit_detail({
                "building": plan.building_id, "floor": plan.floor, "name": plan.name, "sha256": plan.sha256,
                "pins_removed": pins}))
        return plan

    return await env.run(write)


# --- placements ----------------------------------------------------------------------------------

async def list_placements(env: ServiceEnv, caller: Caller, plan_id: int | None = None) -> list[PlacementRow]:
    """The pins the caller may see: on plans they see, of items they see."""
    def read() -> tuple[list[PlanRow], list[PlacementRow]]:
        store = PlanStore(env.index)
        return store.plans(), store.placements(plan_id)
    plans, pins = await env.run(read)
    seen_plans = {p.id for p in plans if _plan_visible(env.config, caller, p.building_id)}
    return [p for p in pins if p.plan_id in seen_plans and _item_visible(env.config, caller, p)]


def _check_item(config: Config, plan: PlanRow, req: PlacementRequest) -> str:
    """The item's building, if it may go on this plan (400 otherwise)."""
    building = _item_building(config, req.kind, req.item_id)
    if building is None:
        raise BadRequestError(f"no {req.kind.value} {req.item_id!r} in the configuration")
    if plan.building_id is not None:
        if req.kind is PinKind.BUILDING:
            raise BadRequestError("buildings are placed on the campus plan, not on a floor plan")
        if building != plan.building_id:
            raise BadRequestError(f"{req.kind.value} {req.item_id!r} is in building {building!r}, not on a plan of"
                                  f" {plan.building_id!r}")
    return building


async def place(env: ServiceEnv, caller: Caller, body: Mapping[str, Any]) -> PlacementRow:
    """Put a pin on a plan, or move it there (one pin per item per plan): 404 unknown plan, 403,
    then 400 on what the body says."""
    plan = await _read_plan(env, plan_id_of(body))
    await _require_configure(env, caller, [plan.building_id])
    req = make_placement(body, plan.width_px, plan.height_px)
    building = _check_item(env.config, plan, req)
    await _require_configure(env, caller, [building])

    def write() -> PlacementRow:
        with env.index.transaction() as c:
            pin_id = plans_store.upsert_placement(c, req, caller.actor, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "placement.set", f"placement:{pin_id}", "ok",
                      caller.audit_detail({"plan": plan.id, "kind": req.kind.value, "item": req.item_id,
                                           "x": req.x_px, "y": req.y_px, "rotation_deg": req.rotation_deg,
                                           "fov_deg": req.fov_deg, "range_px": req.range_px}))
            return plans_store.placement_in(c, pin_id)

    return await env.run(write)


async def remove_placement(env: ServiceEnv, caller: Caller, placement_id: int) -> PlacementRow:
    """Take a pin off its plan (404 unknown, 403 not the caller's to change)."""
    def read() -> tuple[PlacementRow, PlanRow]:
        store = PlanStore(env.index)
        pin = store.placement(placement_id)
        return pin, store.plan(pin.plan_id)
    pin, plan = await env.run(read)
    item_building = _item_building(env.config, pin.kind, pin.item_id)  # None: no longer configured
    await _require_configure(env, caller, [plan.building_id] if item_building is None
                             else [plan.building_id, item_building])

    def write() -> PlacementRow:
        with env.index.transaction() as c:
            plans_store.delete_placement_in(c, placement_id)
            append_in(c, caller.now_ns, caller.actor, "placement.delete", f"placement:{placement_id}", "ok",
                      caller.audit_detail({"plan": plan.id, "kind": pin.kind.value, "item": pin.item_id}))
        return pin

    return await env.run(write)
