"""Door events over HTTP: the webhook (`POST /api/door-events`, bearer token or HMAC signature),
the listing, acknowledgement, and the live alert stream (server-sent events). The use cases are
services/door_events.py's; this module parses requests, checks webhook signatures and streams."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

from vigil.api.context import Ctx, Services, id_param, json_object
from vigil.core.door_events import DoorEventKind
from vigil.core.errors import BadRequestError, PayloadTooLargeError, UnavailableError, UnsupportedMediaTypeError
from vigil.core.permissions import Action, Target
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.core.webhook_auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from vigil.credential_watch import Binding
from vigil.doors.alerts import alert_buildings, door_event_body
from vigil.doors.sink import Alert, AlertKind
from vigil.services.caller import Via
from vigil.services.door_events import DoorEventQuery, door_event_scope, take_webhook_event
from vigil.services.door_events import ack_door_event as ack_door_event_service
from vigil.services.door_events import list_door_events as list_door_events_service

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


async def post_door_event(ctx: Ctx) -> web.StreamResponse:
    if ctx.request.content_type != "application/json":
        raise UnsupportedMediaTypeError(f"send door events as application/json, not {ctx.request.content_type}")
    body = await _body(ctx.request, ctx.services.config.door_events.max_body_bytes)
    submitted = await take_webhook_event(ctx.services.env, ctx.caller, ctx.services.doors, json_object(body),
                                         body.decode("utf-8"))
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


def _kind_param(ctx: Ctx) -> DoorEventKind | None:
    kind = ctx.request.query.get("kind")
    if kind is None:
        return None
    try:
        return DoorEventKind(kind)
    except ValueError:
        raise BadRequestError(f"kind: unknown kind {kind!r}") from None


async def list_door_events(ctx: Ctx) -> web.StreamResponse:
    end = ctx.time_param("end", ctx.now_ns)
    assert end is not None
    start = ctx.time_param("start", end - DAY_NS)
    assert start is not None
    query = DoorEventQuery(start, end, door=ctx.request.query.get("door"), kind=_kind_param(ctx),
                           flagged=_bool_param(ctx, "flagged"))
    page = await list_door_events_service(ctx.services.env, ctx.caller, query)
    return web.json_response({"start": wall_ns_to_iso(page.start_ns), "end": wall_ns_to_iso(page.end_ns),
                              "truncated": page.truncated,
                              "events": [door_event_body(r, include_raw=True) for r in page.events]})


async def ack_door_event(ctx: Ctx) -> web.StreamResponse:
    row = await ack_door_event_service(ctx.services.env, ctx.caller, id_param(ctx, "event_id"))
    return web.json_response(door_event_body(row))


def _sse(alert: Alert) -> bytes:
    data = json.dumps({"alert": alert.kind.value, **alert.body}, separators=(",", ":"))
    return f"event: {alert.kind.value}\ndata: {data}\n\n".encode()


async def alerts_stream(ctx: Ctx) -> web.StreamResponse:
    hub = ctx.services.alerts
    if hub is None:
        raise UnavailableError("alerts are not available right now")
    scope = door_event_scope(ctx.services.config, ctx.caller)

    def shown(alert: Alert) -> bool:
        return alert.kind is AlertKind.ALERTS_LOST or scope.shows(alert_buildings(alert))

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

