"""Bookmarks and evidence holds over the API. Every change is audited; listings show only what
the caller may see (bookmarks: footage of the building; holds: holds the caller may manage)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vigil.api.context import Ctx, id_param, iso, require_user
from vigil.core.errors import BadRequestError, NotFoundError, PermissionDeniedError
from vigil.core.holds import check_text, make_bookmark, make_hold
from vigil.core.permissions import Action, Target, administers, decide
from vigil.core.timebase import parse_time_ns
from vigil.core.timeline import hold_state
from vigil.store.holds import BookmarkRow, EvidenceStore, HoldRow
from vigil.store.index import NewBookmark


def body_time(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRequestError(f"{key} must be ISO 8601 text or Unix seconds")
    try:
        return parse_time_ns(str(value))
    except ValueError as error:
        raise BadRequestError(f"{key}: {error}") from None


def _ids(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequestError(f"{key} must be a list of ids")
    return value


def _camera_buildings(ctx: Ctx) -> dict[str, str]:
    return {c.id: c.building for c in ctx.services.config.cameras}


def _known_buildings(ctx: Ctx) -> set[str]:
    return {b.id for b in ctx.services.config.buildings}


# --- bookmarks -------------------------------------------------------------------------------

def bookmark_target(ctx: Ctx, row: BookmarkRow) -> Target:
    building = row.building_id
    if building is None and row.camera_id is not None:
        building = ctx.services.config.building_of(row.camera_id)
    return Target(building=building, camera=row.camera_id)


def bookmark_json(row: BookmarkRow) -> dict[str, Any]:
    return {"id": row.id, "camera": row.camera_id, "building": row.building_id, "start": iso(row.start_wall_ns),
            "end": iso(row.end_wall_ns), "start_wall_ns": row.start_wall_ns, "end_wall_ns": row.end_wall_ns,
            "headline": row.headline, "description": row.description, "created_by": row.created_by,
            "created_at": iso(row.created_wall_ns), "door_event_id": row.door_event_id}


async def create_bookmark(ctx: Ctx) -> web.StreamResponse:
    user = require_user(ctx)
    body = await ctx.json_body()
    req = make_bookmark(camera_id=body.get("camera"), building_id=body.get("building"),
                        start_ns=body_time(body, "start"), end_ns=body_time(body, "end"),
                        headline=body.get("headline"), description=body.get("description"),
                        camera_buildings=_camera_buildings(ctx), known_buildings=_known_buildings(ctx))
    ctx.require(Action.BOOKMARK, Target(building=req.building_id, camera=req.camera_id))
    store = EvidenceStore(ctx.services.index)
    bookmark_id = ctx.services.index.add_bookmark(NewBookmark(
        camera_id=req.camera_id, building_id=req.building_id, start_wall_ns=req.start_wall_ns,
        end_wall_ns=req.end_wall_ns, headline=req.headline, created_by=user.actor, description=req.description),
        ctx.now_ns)
    row = store.bookmark(bookmark_id)
    ctx.audit("bookmark.create", f"bookmark:{bookmark_id}", "ok", _bookmark_detail(row))
    return web.json_response(bookmark_json(row), status=201)


def _bookmark_detail(row: BookmarkRow) -> dict[str, Any]:
    return {"camera": row.camera_id, "building": row.building_id, "start": iso(row.start_wall_ns),
            "end": iso(row.end_wall_ns), "headline": row.headline, "created_by": row.created_by}


async def list_bookmarks(ctx: Ctx) -> web.StreamResponse:
    subject = require_user(ctx)
    config = ctx.services.config
    camera = ctx.request.query.get("camera")
    building = ctx.request.query.get("building")
    if camera is not None:
        building = config.building_of(camera)
        if building is None:
            raise NotFoundError(f"no camera {camera!r}")
    elif building is not None and building not in _known_buildings(ctx):
        raise NotFoundError(f"no building {building!r}")
    start, end = ctx.time_param("start"), ctx.time_param("end")
    if start is not None and end is not None and end <= start:
        raise BadRequestError("end must be after start")
    rows = EvidenceStore(ctx.services.index).bookmarks(camera, building, start, end)
    if camera is None and building is not None:
        rows = [r for r in rows if bookmark_target(ctx, r).building in (building, None)]
    visible = [r for r in rows
               if decide(subject, Action.VIEW_PLAYBACK, bookmark_target(ctx, r), ctx.now_ns).allowed]
    return web.json_response([bookmark_json(r) for r in visible])


async def delete_bookmark(ctx: Ctx) -> web.StreamResponse:
    user = require_user(ctx)
    store = EvidenceStore(ctx.services.index)
    row = store.bookmark(id_param(ctx, "bookmark_id"))
    target = bookmark_target(ctx, row)
    ctx.require(Action.BOOKMARK, target)
    if row.created_by != user.actor and not administers(user, target.building):
        ctx.audit("bookmark.delete", f"bookmark:{row.id}", "denied", {"reason": "not the creator nor an admin"})
        raise PermissionDeniedError("only the bookmark's creator or an admin of its building may delete it")
    store.delete_bookmark(row.id)
    ctx.audit("bookmark.delete", f"bookmark:{row.id}", "ok", _bookmark_detail(row))
    return web.json_response(bookmark_json(row))


# --- evidence holds --------------------------------------------------------------------------

def hold_targets(ctx: Ctx, row: HoldRow) -> list[Target]:
    """A hold on every camera is about every building."""
    if row.camera_id is None:
        return [Target(building=b) for b in sorted(_known_buildings(ctx))]
    return [Target(building=ctx.services.config.building_of(row.camera_id), camera=row.camera_id)]


def may_manage(ctx: Ctx, row: HoldRow) -> bool:
    return all(decide(ctx.user_subject, Action.HOLD_EVIDENCE, t, ctx.now_ns).allowed for t in hold_targets(ctx, row))


def hold_json(row: HoldRow, now_ns: int) -> dict[str, Any]:
    return {"id": row.id, "camera": row.camera_id, "start": iso(row.start_wall_ns), "end": iso(row.end_wall_ns),
            "start_wall_ns": row.start_wall_ns, "end_wall_ns": row.end_wall_ns, "reason": row.reason,
            "case_id": row.case_id, "created_by": row.created_by, "created_at": iso(row.created_wall_ns),
            "until": iso(row.until_wall_ns), "state": hold_state(row.until_wall_ns, row.released_wall_ns, now_ns).value,
            "released_at": iso(row.released_wall_ns), "released_by": row.released_by,
            "door_event_id": row.door_event_id}


async def create_hold(ctx: Ctx) -> web.StreamResponse:
    user = require_user(ctx)
    body = await ctx.json_body()
    all_cameras = body.get("all_cameras", False)
    if not isinstance(all_cameras, bool):
        raise BadRequestError("all_cameras must be true or false")
    req = make_hold(cameras=_ids(body, "cameras"), buildings=_ids(body, "buildings"), all_cameras=all_cameras,
                    start_ns=body_time(body, "start"), end_ns=body_time(body, "end"), reason=body.get("reason"),
                    case_id=body.get("case_id"), until_ns=body_time(body, "until"),
                    camera_buildings=_camera_buildings(ctx), known_buildings=_known_buildings(ctx), now_ns=ctx.now_ns)
    config = ctx.services.config
    for camera in req.cameras:
        targets = ([Target(building=b) for b in req.buildings] if camera is None
                   else [Target(building=config.building_of(camera), camera=camera)])
        for target in targets:
            ctx.require(Action.HOLD_EVIDENCE, target)
    index, store = ctx.services.index, EvidenceStore(ctx.services.index)
    rows = []
    for camera in req.cameras:
        hold_id = index.add_hold(camera, req.start_wall_ns, req.end_wall_ns, req.reason, user.actor, ctx.now_ns,
                                 req.until_wall_ns, req.case_id)
        rows.append(store.hold(hold_id))
        ctx.audit("hold.create", f"hold:{hold_id}", "ok", {
            "camera": camera, "start": iso(req.start_wall_ns), "end": iso(req.end_wall_ns), "reason": req.reason,
            "case_id": req.case_id, "until": iso(req.until_wall_ns)})
    return web.json_response({"holds": [hold_json(r, ctx.now_ns) for r in rows]}, status=201)


async def list_holds(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    camera = ctx.request.query.get("camera")
    if camera is not None and ctx.services.config.building_of(camera) is None:
        raise NotFoundError(f"no camera {camera!r}")
    state = ctx.request.query.get("state", "all")
    if state not in ("all", "active", "expired", "released"):
        raise BadRequestError("state must be all, active, expired or released")
    start, end = ctx.time_param("start"), ctx.time_param("end")
    if start is not None and end is not None and end <= start:
        raise BadRequestError("end must be after start")
    rows = [r for r in EvidenceStore(ctx.services.index).holds(camera, start, end) if may_manage(ctx, r)]
    out = [hold_json(r, ctx.now_ns) for r in rows]
    return web.json_response([h for h in out if state in ("all", h["state"])])


async def release_hold(ctx: Ctx) -> web.StreamResponse:
    user = require_user(ctx)
    store = EvidenceStore(ctx.services.index)
    row = store.hold(id_param(ctx, "hold_id"))
    for target in hold_targets(ctx, row):
        ctx.require(Action.HOLD_EVIDENCE, target)
    reason = check_text("reason", (await ctx.json_body()).get("reason"), 500, required=True)
    released = store.release_hold(row.id, user.actor, ctx.now_ns)
    ctx.audit("hold.release", f"hold:{row.id}", "ok", {
        "camera": row.camera_id, "start": iso(row.start_wall_ns), "end": iso(row.end_wall_ns),
        "hold_reason": row.reason, "case_id": row.case_id, "reason": reason})
    return web.json_response(hold_json(released, ctx.now_ns))
