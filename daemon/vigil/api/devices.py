"""Local capture devices (USB/V4L2 cameras found by hot-plug) an installer could add."""

from __future__ import annotations

from aiohttp import web

from vigil.api.context import Ctx
from vigil.services.cameras import local_devices


async def available_cameras(ctx: Ctx) -> web.StreamResponse:
    return web.json_response([
        {"device": d.device_node, "name": d.name, "bus": d.bus, "transcodes": True, "note": d.note}
        for d in local_devices(ctx.services.appliance)
    ])
