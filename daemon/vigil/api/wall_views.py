"""Saved live-wall views over the API (/api/views): parse, call services/wall_views.py (who may,
the change and its audit entry in one transaction), answer JSON. A user sees and changes only
their own views; cameras they may not watch never appear in them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vigil.api.context import Ctx, id_param, iso
from vigil.core.wall_views import ViewRequest, make_view
from vigil.services import wall_views
from vigil.services.wall_views import WallViewRow

__all__ = ["create_view", "delete_view", "get_view", "list_views", "update_view", "view_json"]


def view_json(row: WallViewRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "layout": row.layout, "cameras": list(row.cameras),
            "created_at": iso(row.created_wall_ns), "updated_at": iso(row.updated_wall_ns)}


async def _request(ctx: Ctx) -> ViewRequest:
    body = await ctx.json_body()
    return make_view(name=body.get("name"), layout=body.get("layout"), cameras=body.get("cameras", []),
                     known_cameras={c.id for c in ctx.services.config.cameras})


async def list_views(ctx: Ctx) -> web.StreamResponse:
    rows = await wall_views.list_views(ctx.services.env, ctx.caller)
    return web.json_response([view_json(r) for r in rows])


async def get_view(ctx: Ctx) -> web.StreamResponse:
    row = await wall_views.get_view(ctx.services.env, ctx.caller, id_param(ctx, "view_id"))
    return web.json_response(view_json(row))


async def create_view(ctx: Ctx) -> web.StreamResponse:
    row = await wall_views.create_view(ctx.services.env, ctx.caller, await _request(ctx))
    return web.json_response(view_json(row), status=201)


async def update_view(ctx: Ctx) -> web.StreamResponse:
    view_id = id_param(ctx, "view_id")
    row = await wall_views.update_view(ctx.services.env, ctx.caller, view_id, await _request(ctx))
    return web.json_response(view_json(row))


async def delete_view(ctx: Ctx) -> web.StreamResponse:
    row = await wall_views.delete_view(ctx.services.env, ctx.caller, id_param(ctx, "view_id"))
    return web.json_response(view_json(row))
