"""Local capture devices (USB/V4L2 cameras found by hot-plug) an installer could add, and whether
they can be added (recording one needs a hardware H.264 encoder: core.hotplug.usb_addable)."""

from __future__ import annotations

from aiohttp import web

from vigil.api.context import Ctx
from vigil.services.cameras import local_devices, usb_addability


async def available_cameras(ctx: Ctx) -> web.StreamResponse:
    addable, why_not = usb_addability()
    return web.json_response([
        {"device": d.device_node, "name": d.name, "bus": d.bus, "transcodes": True, "note": d.note,
         "addable": addable, "why_not": None if addable else why_not}
        for d in local_devices(ctx.services.appliance)
    ])
