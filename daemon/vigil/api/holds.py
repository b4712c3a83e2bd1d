"""Bookmarks and evidence holds over the API: parse the request, call services/bookmarks.py or
services/holds.py (who may, the change and its audit entry in one transaction, off the loop),
answer JSON. Listings show only what the caller may see (bookmarks: footage of the building;
holds: holds the caller may manage)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vigil.api.context import Ctx, id_param, iso, require_user
from vigil.core.errors import BadRequestError
from vigil.core.holds import make_bookmark, make_hold
from vigil.core.timebase import parse_time_ns
from vigil.services import bookmarks, holds
from vigil.services.bookmarks import BookmarkQuery, BookmarkRow
from vigil.services.holds import HoldQuery, HoldRow, HoldState, hold_json

__all__ = ["body_time", "bookmark_json", "create_bookmark", "create_hold", "delete_bookmark", "hold_json",
           "list_bookmarks", "list_holds", "may_manage", "release_hold"]


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


def _range(ctx: Ctx) -> tuple[int | None, int | None]:
    return ctx.time_param("start"), ctx.time_param("end")


# --- bookmarks -------------------------------------------------------------------------------

def bookmark_json(row: BookmarkRow) -> dict[str, Any]:
    return {"id": row.id, "camera": row.camera_id, "building": row.building_id, "start": iso(row.start_wall_ns),
            "end": iso(row.end_wall_ns), "start_wall_ns": row.start_wall_ns, "end_wall_ns": row.end_wall_ns,
            "headline": row.headline, "description": row.description, "created_by": row.created_by,
            "created_at": iso(row.created_wall_ns), "door_event_id": row.door_event_id}


async def create_bookmark(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    body = await ctx.json_body()
    req = make_bookmark(camera_id=body.get("camera"), building_id=body.get("building"),
                        start_ns=body_time(body, "start"), end_ns=body_time(body, "end"),
                        headline=body.get("headline"), description=body.get("description"),
                        camera_buildings=_camera_buildings(ctx), known_buildings=_known_buildings(ctx))
    row = await bookmarks.create_bookmark(ctx.services.env, ctx.caller, req)
    return web.json_response(bookmark_json(row), status=201)


async def list_bookmarks(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    start, end = _range(ctx)
    query = BookmarkQuery(ctx.request.query.get("camera"), ctx.request.query.get("building"), start, end)
    rows = await bookmarks.list_bookmarks(ctx.services.env, ctx.caller, query)
    return web.json_response([bookmark_json(r) for r in rows])


async def delete_bookmark(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    row = await bookmarks.delete_bookmark(ctx.services.env, ctx.caller, id_param(ctx, "bookmark_id"))
    return web.json_response(bookmark_json(row))


# --- evidence holds --------------------------------------------------------------------------

def may_manage(ctx: Ctx, row: HoldRow) -> bool:
    """Whether the request's caller may see the hold's case and release it (api/timeline.py)."""
    return holds.may_manage(ctx.services.config, ctx.caller, row)


async def create_hold(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    body = await ctx.json_body()
    all_cameras = body.get("all_cameras", False)
    if not isinstance(all_cameras, bool):
        raise BadRequestError("all_cameras must be true or false")
    req = make_hold(cameras=_ids(body, "cameras"), buildings=_ids(body, "buildings"), all_cameras=all_cameras,
                    start_ns=body_time(body, "start"), end_ns=body_time(body, "end"), reason=body.get("reason"),
                    case_id=body.get("case_id"), until_ns=body_time(body, "until"),
                    camera_buildings=_camera_buildings(ctx), known_buildings=_known_buildings(ctx), now_ns=ctx.now_ns)
    rows = await holds.create_hold(ctx.services.env, ctx.caller, req)
    return web.json_response({"holds": [hold_json(r, ctx.now_ns) for r in rows]}, status=201)


async def list_holds(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    state = ctx.request.query.get("state", "all")
    if state not in ("all", "active", "expired", "released"):
        raise BadRequestError("state must be all, active, expired or released")
    start, end = _range(ctx)
    query = HoldQuery(ctx.request.query.get("camera"), start, end, None if state == "all" else HoldState(state))
    rows = await holds.list_holds(ctx.services.env, ctx.caller, query)
    return web.json_response([hold_json(r, ctx.now_ns) for r in rows])


async def release_hold(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    hold_id = id_param(ctx, "hold_id")
    reason = (await ctx.json_body()).get("reason")  # checked by the service, after who may
    row = await holds.release_hold(ctx.services.env, ctx.caller, hold_id, reason)
    return web.json_response(hold_json(row, ctx.now_ns))
