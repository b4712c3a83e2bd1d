"""Camera setup (issue 15): discover ONVIF devices, scan a range, probe one device.

Parse the body, call services/camera_setup.py, answer JSON. Errors are the contract's problem
types (core/errors.py); the probe's password is never echoed, logged or audited."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vigil.api.context import Ctx
from vigil.core.errors import BadRequestError
from vigil.services import camera_setup
from vigil.services.camera_setup import device_json, probe_json


async def _body(ctx: Ctx) -> dict[str, Any]:
    raw = await ctx.request.read()
    return await ctx.json_body() if raw.strip() else {}


async def discover(ctx: Ctx) -> web.StreamResponse:
    body = await _body(ctx)
    timeout_s = body.get("timeout_s")
    if timeout_s is not None and (isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float)):
        raise BadRequestError("timeout_s: a number of seconds (1-10)")
    devices = await camera_setup.discover_devices(ctx.services.env, ctx.caller, timeout_s)
    return web.json_response({"devices": [device_json(d) for d in devices]})


async def scan(ctx: Ctx) -> web.StreamResponse:
    body = await ctx.json_body()
    devices = await camera_setup.scan_devices(ctx.services.env, ctx.caller, body.get("range"), body.get("ports"))
    return web.json_response({"devices": [device_json(d) for d in devices]})


async def probe(ctx: Ctx) -> web.StreamResponse:
    request = camera_setup.parse_probe_request(await ctx.json_body())
    result = await camera_setup.probe(ctx.services.env, ctx.caller, request)
    return web.json_response(probe_json(result))
