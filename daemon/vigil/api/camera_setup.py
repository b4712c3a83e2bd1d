"""Camera setup (issue 15): discover ONVIF devices, scan a range, probe one device.

Parse the body, call services/camera_setup.py, answer JSON. Errors are the contract's problem
types (core/errors.py); the probe's password is never echoed, logged or audited."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from vigil.api.context import Ctx
from vigil.camera_setup.model import Device, ProbeResult
from vigil.core.errors import BadRequestError
from vigil.services import camera_setup


def device_json(d: Device) -> dict[str, Any]:
    return {"address": d.address, "xaddr": d.xaddr, "name": d.name, "model": d.model,
            "manufacturer": d.manufacturer, "hardware": d.hardware, "scopes": list(d.scopes),
            "configured_camera": d.configured_camera}


def probe_json(r: ProbeResult) -> dict[str, Any]:
    return {
        "device": {"manufacturer": r.device.manufacturer, "model": r.device.model, "firmware": r.device.firmware,
                   "serial": r.device.serial, "hardware": r.device.hardware},
        "clock": {"camera_utc": r.clock.camera_utc, "skew_s": r.clock.skew_s, "warning": r.clock.warning},
        "media2": r.media2, "backchannel": r.backchannel,
        "profiles": [{
            "token": p.token, "name": p.name, "encoding": p.encoding, "width": p.width, "height": p.height,
            "fps": p.fps, "stream_url": p.stream_url, "snapshot_url": p.snapshot_url,
            "received": None if p.received is None else {
                "codec": p.received.codec, "width": p.received.width, "height": p.received.height,
                "fps": p.received.fps, "gop_frames": p.received.gop_frames, "bframes": p.received.bframes},
            "problem": p.problem, "live": {"ok": p.live.ok, "note": p.live.note}} for p in r.profiles],
        "proposal": None if r.proposal is None else {
            "url": r.proposal.url, "substream_url": r.proposal.substream_url, "name": r.proposal.name,
            "username": r.proposal.username, "id": r.proposal.id},
        "snapshot_jpeg_base64": base64.b64encode(r.snapshot_jpeg).decode() if r.snapshot_jpeg else None,
        "warnings": list(r.warnings),
    }


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
