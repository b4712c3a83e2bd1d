"""Door events: listing them (only those of buildings the caller may see), acknowledging one (the
acknowledgement and its audit entry in one transaction), the door events of a camera's timeline,
and taking one from the signed or token-authenticated webhook (handed to the door service,
doors/service.py, which de-duplicates, maps, flags and stores it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.config import Config
from vigil.core.door_events import DoorEventKind, parse_door_event_v1
from vigil.core.errors import BadRequestError, NotFoundError, PermissionDeniedError, UnavailableError
from vigil.core.permissions import Action, Target
from vigil.doors.sink import DoorEventSink, Submitted
from vigil.services.authorize import audit_denial_sync, require, require_sync
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.services.visibility import may, sees_placeless, visible_building_ids
from vigil.store.audit_log import append_in
from vigil.store.door_events import MAX_LIST, DoorEventRow, DoorStore, ack_in, event_in

__all__ = ["MAX_LIST", "DoorEventPage", "DoorEventQuery", "DoorEventRow", "DoorEventScope", "Submitted",
           "ack_door_event", "camera_door_events_sync", "door_event_scope", "list_door_events",
           "take_webhook_event"]


@dataclass(frozen=True)
class DoorEventQuery:
    start_ns: int
    end_ns: int
    door: str | None = None
    kind: DoorEventKind | None = None
    flagged: bool | None = None


@dataclass(frozen=True)
class DoorEventPage:
    start_ns: int
    end_ns: int
    truncated: bool  # more than MAX_LIST matched; `events` holds the oldest MAX_LIST
    events: tuple[DoorEventRow, ...]


@dataclass(frozen=True)
class DoorEventScope:
    """Whose door events a caller sees: those at these buildings, and (district staff) those at none."""

    buildings: tuple[str, ...]
    placeless: bool

    def shows(self, buildings: list[str] | None) -> bool:
        """Whether something about these buildings (None or none: about no building) is shown."""
        if not buildings:
            return self.placeless
        return not set(self.buildings).isdisjoint(buildings)


def door_event_scope(config: Config, caller: Caller) -> DoorEventScope:
    return DoorEventScope(tuple(sorted(visible_building_ids(config, caller))), sees_placeless(caller))


async def list_door_events(env: ServiceEnv, caller: Caller, query: DoorEventQuery) -> DoorEventPage:
    """Door events by device time in [start, end), oldest first, of the buildings the caller may
    see; naming a door of a building the caller may not see is refused (403, audited)."""
    if query.end_ns <= query.start_ns:
        raise BadRequestError("end must be after start")
    scope = door_event_scope(env.config, caller)
    if query.door is not None:
        building = next((d.building for d in env.config.doors if d.id == query.door), None)
        if building is None:
            raise NotFoundError(f"no door {query.door!r}")
        await require(env, caller, Action.VIEW_DOOR_EVENTS, Target(building=building))

    def read() -> list[DoorEventRow]:
        return DoorStore(env.index).events(
            query.start_ns, query.end_ns, door_id=query.door, kind=None if query.kind is None else query.kind.value,
            flagged=query.flagged, buildings=scope.buildings, include_placeless=scope.placeless, limit=MAX_LIST + 1)

    rows = await env.run(read)
    return DoorEventPage(query.start_ns, query.end_ns, len(rows) > MAX_LIST, tuple(rows[:MAX_LIST]))


def _require_event_sync(env: ServiceEnv, caller: Caller, action: Action, row: DoorEventRow) -> None:
    if row.building is not None:
        require_sync(env, caller, action, Target(building=row.building))
    elif not sees_placeless(caller):
        audit_denial_sync(env, caller, action.value, f"door_event:{row.id}", "no building")
        raise PermissionDeniedError("not allowed: events at no building are for district admins")


async def ack_door_event(env: ServiceEnv, caller: Caller, event_id: int) -> DoorEventRow:
    """Acknowledge a door event (a second acknowledgement keeps the first one's who and when, and
    is audited as `already`). The acknowledgement and its audit entry commit together."""

    def ack() -> DoorEventRow:
        _require_event_sync(env, caller, Action.ACK_DOOR_EVENTS, DoorStore(env.index).get(event_id))
        with env.index.transaction() as c:
            acked_now = ack_in(c, event_id, caller.actor, caller.now_ns)
            row = event_in(c, event_id)
            append_in(c, caller.now_ns, caller.actor, "door_event.ack", f"door_event:{event_id}",
                      "ok" if acked_now else "already",
                      caller.audit_detail({"door": row.door_id, "kind": row.kind.value, "acked_by": row.acked_by}))
        return row

    return await env.run(ack)


def camera_door_events_sync(env: ServiceEnv, caller: Caller, camera_id: str, building: str | None,
                            start_ns: int, end_ns: int) -> list[DoorEventRow]:
    """On a database thread: the door events on a camera's timeline, for a caller who may see its
    building's door events (others, such as responder links, get none: left out, not refused)."""
    if building is None or not may(caller, Action.VIEW_DOOR_EVENTS, Target(building=building)):
        return []
    return DoorStore(env.index).events_at_camera(camera_id, start_ns, end_ns)


async def take_webhook_event(env: ServiceEnv, caller: Caller, sink: DoorEventSink | None, doc: dict[str, Any],
                             body_text: str) -> Submitted:
    """One door-event/v1 document from the webhook (`body_text`: the request body it was parsed
    from, kept as the event's raw payload unless it names its own). Its source may not be one of
    this appliance's adapters (it could pre-empt their de-duplication keys)."""
    if sink is None:
        raise UnavailableError("door events are not being taken right now")
    event = parse_door_event_v1(doc)
    if event.source in env.config.door_adapters.sources:
        raise BadRequestError(f"door event: 'source' {event.source!r} is one of this appliance's adapters;"
                              " the webhook takes other source names")
    if event.raw is None:  # the webhook's payload is the body itself
        event = parse_door_event_v1({**doc, "raw": body_text})
    return await sink.submit(event, caller.now_ns)
