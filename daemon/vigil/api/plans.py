"""Floor plans and pin placements over the API: parse, call services/plans.py (who may, the change
and its audit entry in one transaction), answer JSON, or the plan image as stored.

`POST /api/plans?building=&floor=&level=&name=` takes the image itself as the body (Content-Type
image/png or image/jpeg; the bytes decide, the header must agree): up to core.plan_image's cap,
which is above the appliance's JSON body limit, so this handler reads the body itself."""

from __future__ import annotations

from aiohttp import web

from vigil.api.context import Ctx, id_param
from vigil.core.errors import BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from vigil.core.placements import make_plan_request
from vigil.core.plan_image import ACCEPTED, MAX_PLAN_BYTES
from vigil.services import plans
from vigil.services.plans import placement_json, plan_json

_DECLARED = ("image/png", "image/jpeg")
_CHUNK_BYTES = 64 * 1024


async def _image_body(ctx: Ctx) -> bytes:
    declared = ctx.request.content_type
    if declared not in _DECLARED:
        raise UnsupportedMediaTypeError(f"{ACCEPTED} (Content-Type image/png or image/jpeg); this request"
                                        f" says {declared or 'nothing'}")
    if ctx.request.content_length is not None and ctx.request.content_length > MAX_PLAN_BYTES:
        raise PayloadTooLargeError(f"a floor plan may be at most {MAX_PLAN_BYTES // (1024 * 1024)} MiB")
    parts: list[bytes] = []
    size = 0
    while chunk := await ctx.request.content.read(_CHUNK_BYTES):
        size += len(chunk)
        if size > MAX_PLAN_BYTES:
            raise PayloadTooLargeError(f"a floor plan may be at most {MAX_PLAN_BYTES // (1024 * 1024)} MiB")
        parts.append(chunk)
    return b"".join(parts)


async def list_plans(ctx: Ctx) -> web.StreamResponse:
    rows = await plans.list_plans(ctx.services.env, ctx.caller, ctx.request.query.get("building") or None)
    return web.json_response([plan_json(r) for r in rows])


async def create_plan(ctx: Ctx) -> web.StreamResponse:
    query = ctx.request.query
    names = {b.id: b.name for b in ctx.services.config.buildings}
    req = make_plan_request(query.get("building"), query.get("floor"), query.get("name"), query.get("level"), names)
    image = await _image_body(ctx)
    row = await plans.create_plan(ctx.services.env, ctx.caller, req, image, ctx.request.content_type)
    return web.json_response(plan_json(row), status=201)


async def plan_image(ctx: Ctx) -> web.StreamResponse:
    content_type, sha256, image = await plans.plan_image(ctx.services.env, ctx.caller, id_param(ctx, "plan_id"))
    etag = f'"{sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if ctx.request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=image, content_type=content_type, headers=headers)


async def delete_plan(ctx: Ctx) -> web.StreamResponse:
    row = await plans.delete_plan(ctx.services.env, ctx.caller, id_param(ctx, "plan_id"))
    return web.json_response(plan_json(row))


async def list_placements(ctx: Ctx) -> web.StreamResponse:
    text = ctx.request.query.get("plan")
    if text is not None and not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise BadRequestError("plan must be a plan id")
    rows = await plans.list_placements(ctx.services.env, ctx.caller, None if text is None else int(text))
    return web.json_response([placement_json(r) for r in rows])


async def place(ctx: Ctx) -> web.StreamResponse:
    row = await plans.place(ctx.services.env, ctx.caller, await ctx.json_body())
    return web.json_response(placement_json(row))


async def remove_placement(ctx: Ctx) -> web.StreamResponse:
    row = await plans.remove_placement(ctx.services.env, ctx.caller, id_param(ctx, "placement_id"))
    return web.json_response(placement_json(row))


async def list_doors(ctx: Ctx) -> web.StreamResponse:
    return web.json_response(plans.list_doors(ctx.services.env, ctx.caller))
