"""Updating the appliance (`/api/appliance/update`, district admins): services/updates.py."""

from __future__ import annotations

from aiohttp import web

from vigil.api.context import Ctx
from vigil.services import updates


async def request_update(ctx: Ctx) -> web.StreamResponse:
    return web.json_response(await updates.request_update(ctx.services.env, ctx.caller, await ctx.json_body()),
                             status=202)


async def update_status(ctx: Ctx) -> web.StreamResponse:
    return web.json_response(await updates.update_status(ctx.services.env, ctx.caller))
