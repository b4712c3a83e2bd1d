"""Door events over HTTP: the webhook (`POST /api/door-events`, bearer token or HMAC signature),
the listing, acknowledgement, and the live alert stream (server-sent events)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from vigil.api.context import Ctx, Services, id_param, json_object
from vigil.core.door_events import DoorEventKind, parse_door_event_v1
from vigil.core.errors import (
    BadRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    UnavailableError,
    UnsupportedMediaTypeError,
)
from vigil.core.permissions import Action, Target, decide, sees_placeless_door_events, visible_buildings
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.core.webhook_auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from vigil.credential_watch import Binding
from vigil.doors.alerts import alert_buildings, door_event_body
from vigil.doors.service import DoorEventService
from vigil.doors.sink import Alert
from vigil.services.caller import Via
from vigil.store.door_events import MAX_LIST, DoorEventRow, DoorStore

DAY_NS = 86_400 * NS_PER_SECOND
HEARTBEAT_S = 15.0


def is_signed(request: web.Request) -> bool:
    return SIGNATURE_HEADER in request.headers


async def _body(request: web.Request, max_bytes: int) -> bytes:
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise PayloadTooLargeError(f"door event bodies are limited to {max_bytes} bytes")
    body = await request.read()
    if len(body) > max_bytes:
        raise PayloadTooLargeError(f"door event bodies are limited to {max_bytes} bytes")
    return body


async def signed_ctx(request: web.Request, services: Services, now_ns: int) -> Ctx:
    """The caller of a signed webhook request, once its signature over timestamp + body checks out."""
    settings = services.config.door_events
    body = await _body(request, settings.max_body_bytes)
    verify(settings.webhook_secret, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER),
           body, now_ns, settings.signature_max_age_s)
    return Ctx(request, services, None, Via.SIGNATURE, now_ns)


def _service(ctx: Ctx) -> DoorEventService:
    if ctx.services.doors is None:
        raise UnavailableError("door events are not being taken right now")
    return ctx.services.doors


async def post_door_event(ctx: Ctx) -> web.StreamResponse:
    doors = _service(ctx)
    if ctx.request.content_type != "application/json":
        raise UnsupportedMediaTypeError(f"send door events as application/json, not {ctx.request.content_type}")
    body = await _body(ctx.request, ctx.services.config.door_events.max_body_bytes)
    doc = json_object(body)
    event = parse_door_event_v1(doc)
    if event.source in ctx.services.config.door_adapters.sources:  # else it could pre-empt their dedupe keys
        raise BadRequestError(f"door event: 'source' {event.source!r} is one of this appliance's adapters;"
                              " the webhook takes other source names")
    if event.raw is None:  # the webhook's payload is the body itself
        event = parse_door_event_v1({**doc, "raw": body.decode("utf-8")})
    submitted = await doors.submit(event, ctx.now_ns)
    return web.json_response({"id": submitted.id, "duplicate": submitted.duplicate, "flagged": submitted.flagged},
                             status=200 if submitted.duplicate else 201)


def _bool_param(ctx: Ctx, name: str) -> bool | None:
    text = ctx.request.query.get(name)
    if text is None:
        return None
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise BadRequestError(f"query parameter {name} must be true or false")


def _scope(ctx: Ctx) -> tuple[list[str], bool]:
    """(buildings whose door events the caller sees, whether events at no building are included)."""
    subject = ctx.user_subject
    visible = visible_buildings(subject, frozenset(b.id for b in ctx.services.config.buildings))
    return sorted(visible), sees_placeless_door_events(subject)


async def list_door_events(ctx: Ctx) -> web.StreamResponse:
    end = ctx.time_param("end", ctx.now_ns)
    assert end is not None
    start = ctx.time_param("start", end - DAY_NS)
    assert start is not None
    if end <= start:
        raise BadRequestError("end must be after start")
    kind = ctx.request.query.get("kind")
    if kind is not None and kind not in {k.value for k in DoorEventKind}:
        raise BadRequestError(f"kind: unknown kind {kind!r}")
    door = ctx.request.query.get("door")
    buildings, placeless = _scope(ctx)
    if door is not None:
        building = next((d.building for d in ctx.services.config.doors if d.id == door), None)
        if building is None:
            raise NotFoundError(f"no door {door!r}")
        ctx.require(Action.VIEW_DOOR_EVENTS, Target(building=building))
    store = DoorStore(ctx.services.index)
    rows = await asyncio.to_thread(store.events, start, end, door_id=door, kind=kind,
                                   flagged=_bool_param(ctx, "flagged"), buildings=buildings,
                                   include_placeless=placeless, limit=MAX_LIST + 1)
    return web.json_response({"start": wall_ns_to_iso(start), "end": wall_ns_to_iso(end),
                              "truncated": len(rows) > MAX_LIST,
                              "events": [door_event_body(r, include_raw=True) for r in rows[:MAX_LIST]]})


async def timeline_door_events(ctx: Ctx, camera_id: str, building: str | None, start_ns: int, end_ns: int
                               ) -> list[dict[str, Any]]:
    """The door events on a camera's timeline, for a caller who may see its building's door events
    (others, such as responder links, get none)."""
    if building is None or not decide(ctx.user_subject, Action.VIEW_DOOR_EVENTS, Target(building=building),
                                      ctx.now_ns).allowed:
        return []
    rows = await asyncio.to_thread(DoorStore(ctx.services.index).events_at_camera, camera_id, start_ns, end_ns)
    return [door_event_body(r) for r in rows]


def _require_event(ctx: Ctx, action: Action, row: DoorEventRow) -> None:
    if row.building is None:
        if not sees_placeless_door_events(ctx.user_subject):
            ctx.audit(action.value, f"door_event:{row.id}", "denied", {"reason": "no building"})
            raise PermissionDeniedError("not allowed: events at no building are for district admins")
        return
    ctx.require(action, Target(building=row.building))


async def ack_door_event(ctx: Ctx) -> web.StreamResponse:
    store = DoorStore(ctx.services.index)
    event_id = id_param(ctx, "event_id")
    row = await asyncio.to_thread(store.get, event_id)
    _require_event(ctx, Action.ACK_DOOR_EVENTS, row)
    row, acked_now = await asyncio.to_thread(store.ack, event_id, ctx.actor, ctx.now_ns)
    ctx.audit("door_event.ack", f"door_event:{event_id}", "ok" if acked_now else "already",
              {"door": row.door_id, "kind": row.kind.value, "acked_by": row.acked_by})
    return web.json_response(door_event_body(row))


def _sse(alert: Alert) -> bytes:
    data = json.dumps({"alert": alert.kind.value, **alert.body}, separators=(",", ":"))
    return f"event: {alert.kind.value}\ndata: {data}\n\n".encode()


async def alerts_stream(ctx: Ctx) -> web.StreamResponse:
    hub = ctx.services.alerts
    if hub is None:
        raise UnavailableError("alerts are not available right now")
    buildings, placeless = _scope(ctx)
    visible = set(buildings)

    def shown(alert: Alert) -> bool:
        about = alert_buildings(alert)
        if about is None or not about:
            return placeless or alert.kind.value == "alerts_lost"
        return bool(visible.intersection(about))

    feed = hub.subscribe()

    async def revoked(reason: str) -> None:  # the stream ends with the sign-in that opened it
        feed.offer(None)

    watch = ctx.services.credential_watch
    binding = None if watch is None else watch.bind(
        Binding(ctx.credential, Action.VIEW_DOOR_EVENTS, Target(), revoked))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    try:
        await response.prepare(ctx.request)
        await response.write(b": connected\n\n")
        while True:
            try:
                alert = await asyncio.wait_for(anext(feed), HEARTBEAT_S)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            except StopAsyncIteration:
                break
            if shown(alert):
                await response.write(_sse(alert))
    except ConnectionError:  # the watcher went away
        pass
    finally:
        feed.close()
        if watch is not None and binding is not None:
            watch.unbind(binding)
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response

