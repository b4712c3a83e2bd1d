"""Configured cameras and buildings over the API (design/cameras.md): parse, call
services/camera_config.py (who may, the file edited and audited, the change applied), answer
JSON. No answer ever carries a camera password: `password_set` says whether one is set."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vigil.api.context import Ctx
from vigil.config.model import BuildingConfig, CameraConfig
from vigil.core.camera_changes import ReloadResult
from vigil.services import camera_config as service
from vigil.services.camera_config import result_detail


def camera_json(c: CameraConfig) -> dict[str, Any]:
    return {"id": c.id, "building": c.building, "name": c.name, "url": c.url, "substream_url": c.substream_url,
            "username": c.username, "password_set": c.password is not None, "transport": c.transport.value,
            "timeout_s": c.timeout_s, "enabled": c.enabled, "motion": c.motion.value,
            "motion_sensitivity": c.motion_sensitivity, "motion_mask": [list(r) for r in c.motion_mask],
            "record_audio": c.record_audio, "talk": c.talk.value, "talk_url": c.talk_url,
            "ingest": c.ingest.value}


def building_json(b: BuildingConfig) -> dict[str, Any]:
    return {"id": b.id, "name": b.name}


def applied_json(result: ReloadResult) -> dict[str, Any]:
    return result_detail(result)


async def list_cameras(ctx: Ctx) -> web.StreamResponse:
    found = await service.list_cameras(ctx.services.env, ctx.caller)
    return web.json_response({"cameras": [camera_json(c) for c in found.cameras], "writable": found.writable,
                              "read_only_reason": found.read_only_reason})


async def create_camera(ctx: Ctx) -> web.StreamResponse:
    applied = await service.create_camera(ctx.services.env, ctx.caller, await ctx.json_body())
    assert applied.camera is not None
    return web.json_response({"camera": camera_json(applied.camera), "applied": applied_json(applied.result)},
                             status=201)


async def update_camera(ctx: Ctx) -> web.StreamResponse:
    applied = await service.update_camera(ctx.services.env, ctx.caller, ctx.request.match_info["camera"],
                                          await ctx.json_body())
    assert applied.camera is not None
    return web.json_response({"camera": camera_json(applied.camera), "applied": applied_json(applied.result)})


async def delete_camera(ctx: Ctx) -> web.StreamResponse:
    applied = await service.delete_camera(ctx.services.env, ctx.caller, ctx.request.match_info["camera"])
    return web.json_response({"applied": applied_json(applied.result)})


async def list_buildings(ctx: Ctx) -> web.StreamResponse:
    found = await service.list_buildings(ctx.services.env, ctx.caller)
    return web.json_response({"buildings": [building_json(b) for b in found.buildings], "writable": found.writable,
                              "read_only_reason": found.read_only_reason})


async def create_building(ctx: Ctx) -> web.StreamResponse:
    applied = await service.create_building(ctx.services.env, ctx.caller, await ctx.json_body())
    assert applied.building is not None
    return web.json_response({"building": building_json(applied.building),
                              "applied": applied_json(applied.result)}, status=201)


async def update_building(ctx: Ctx) -> web.StreamResponse:
    applied = await service.update_building(ctx.services.env, ctx.caller, ctx.request.match_info["building"],
                                            await ctx.json_body())
    assert applied.building is not None
    return web.json_response({"building": building_json(applied.building),
                              "applied": applied_json(applied.result)})


async def delete_building(ctx: Ctx) -> web.StreamResponse:
    applied = await service.delete_building(ctx.services.env, ctx.caller, ctx.request.match_info["building"])
    return web.json_response({"applied": applied_json(applied.result)})


async def reload(ctx: Ctx) -> web.StreamResponse:
    result = await service.reload(ctx.services.env, ctx.caller)
    return web.json_response({"applied": applied_json(result)})
