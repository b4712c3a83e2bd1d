"""Incidents: declare (or join), end, list, read. The API, the CLI (`vigil incident`), the MQTT
trigger and the door rule call these; the rules are core/incidents.py's.

Declaring writes, in ONE transaction: the incident, one evidence hold per camera (from the
look-back, open-ended), the incident's responder link, a delivery row per outside recipient
(skipped for a drill) and the audit entries (incident.declare, hold.create, link.create). Ending
writes, in one transaction: the end and its note, every hold's end (the end plus the tail), the
link's revocation, the `ended` delivery rows and the audit entries. Deliveries, the alert feed and
the report run after the commit (`ServiceEnv.incident_listeners`) and never delay it.

Who may: declaring and ending need `declare_incident` in the building (building and district
admins); the CLI and the daemon's workers act as the appliance. An incident is seen by who sees
its building, and by its own responder link; its link's URL only by who may manage links there."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vigil.config import Config
from vigil.core.errors import NotFoundError
from vigil.core.holds import MAX_REASON_CHARS as HOLD_REASON_CHARS
from vigil.core.incidents import (
    OPEN_HOLD_END_WALL_NS,
    DeclaredVia,
    DeliveryEvent,
    DeliveryState,
    IncidentState,
    check_note,
    check_report_cameras,
    hold_end_ns,
    hold_start_ns,
    holds_to_add,
    link_grant,
    link_token,
    link_url,
    make_declaration,
)
from vigil.core.permissions import Action, LinkSubject, Target, decide, visible_buildings
from vigil.core.timebase import wall_ns_to_iso
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.env import IncidentChange, ServiceEnv
from vigil.services.holds import insert_holds_in
from vigil.services.links import grant_detail
from vigil.store import accounts as link_store
from vigil.store.audit_log import append_in
from vigil.store.holds import NewHold
from vigil.store.incidents import (
    DeliveryRow,
    IncidentRow,
    Incidents,
    JoinRow,
    add_cameras_in,
    add_join_in,
    end_incident_in,
    incident_in,
    insert_delivery_in,
    insert_incident_in,
    open_incident_in,
    set_link_in,
)

__all__ = ["Declared", "IncidentView", "declare", "end", "get_incident", "incident_json", "link_base_url",
           "list_incidents", "visible_incident"]


@dataclass(frozen=True)
class Declared:
    incident: IncidentRow
    joined: bool  # the building had an open incident: this declaration joined it


@dataclass(frozen=True)
class IncidentView:
    """An incident with what the caller may see of it."""

    incident: IncidentRow
    joins: tuple[JoinRow, ...]
    deliveries: tuple[DeliveryRow, ...]
    link_url: str | None  # only for who may manage links in the building (and while it is open)


def _iso(ns: int | None) -> str | None:
    return None if ns is None else wall_ns_to_iso(ns)


def link_base_url(config: Config, request_base: str | None = None) -> str:
    """Where responders reach the box: [http] public_url, else the request's own base, else this
    host's name and port."""
    if config.http.public_url:
        return config.http.public_url
    if request_base:
        return request_base
    scheme = "https" if config.http.tls else "http"
    return f"{scheme}://{socket.getfqdn()}:{config.http.port}"


def _camera_buildings(config: Config) -> dict[str, str]:
    return {c.id: c.building for c in config.cameras}


def _hold_reason(incident_id: int, reason: str, drill: bool) -> str:
    return f"incident {incident_id}{' (drill)' if drill else ''}: {reason}"[:HOLD_REASON_CHARS]


def _new_holds(caller: Caller, incident_id: int, cameras: tuple[str, ...], start_ns: int, end_ns: int, reason: str,
               drill: bool) -> list[NewHold]:
    return [NewHold(camera, start_ns, end_ns, _hold_reason(incident_id, reason, drill), caller.actor,
                    case_id=f"incident-{incident_id}", incident_id=incident_id) for camera in cameras]


async def declare(env: ServiceEnv, caller: Caller, *, building: object, cameras: list[object], reason: object,
                  drill: object = False, via: DeclaredVia) -> Declared:
    """Declare an incident, or join the building's open one. Bad input: BadRequestError /
    NotFoundError (core.incidents.make_declaration); not the caller's building: 403."""
    config = env.config
    d = make_declaration(building=building, cameras=cameras, reason=reason, drill=drill,
                         camera_buildings=_camera_buildings(config), known_buildings={b.id for b in config.buildings})
    await require(env, caller, Action.DECLARE_INCIDENT, Target(building=d.building))
    settings = config.incidents
    now = caller.now_ns

    def write() -> Declared:
        key = env.link_key()
        with env.index.transaction() as c:
            current = open_incident_in(c, d.building)
            if current is not None:
                add_join_in(c, current.id, caller.actor, via, d.reason, now)
                more = holds_to_add(d, current.cameras)
                end_ns = OPEN_HOLD_END_WALL_NS
                hold_ids = insert_holds_in(c, caller, _new_holds(caller, current.id, more, current.hold_start_wall_ns,
                                                                 end_ns, current.reason, current.drill),
                                           {"incident": current.id})
                if more:
                    add_cameras_in(c, current.id, more)
                append_in(c, now, caller.actor, "incident.join", f"incident:{current.id}", "ok", caller.audit_detail({
                    "building": d.building, "reason": d.reason, "declared_via": via.value, "cameras_added": list(more),
                    "holds": hold_ids}))
                return Declared(incident_in(c, current.id), joined=True)
            start = hold_start_ns(now, settings.lookback_s)
            incident_id = insert_incident_in(c, d, caller.actor, via, now, start)
            grant = link_grant(d, incident_id, now, settings.lookback_s, settings.link_max_hours)
            link_id, _ = link_store.insert_link(c, grant, caller.actor, now, link_token(key, incident_id))
            set_link_in(c, incident_id, link_id)
            append_in(c, now, caller.actor, "link.create", f"link:{link_id}", "ok",
                      caller.audit_detail({**grant_detail(grant), "incident": incident_id}))
            hold_ids = insert_holds_in(c, caller, _new_holds(caller, incident_id, d.cameras, start,
                                                             OPEN_HOLD_END_WALL_NS, d.reason, d.drill),
                                       {"incident": incident_id})
            state = DeliveryState.SKIPPED if d.drill else DeliveryState.PENDING
            for recipient in settings.recipients:
                insert_delivery_in(c, incident_id, DeliveryEvent.DECLARED, recipient, state, now)
            append_in(c, now, caller.actor, "incident.declare", f"incident:{incident_id}", "ok", caller.audit_detail({
                "building": d.building, "cameras": list(d.cameras), "reason": d.reason, "drill": d.drill,
                "declared_via": via.value, "hold_start": _iso(start), "holds": hold_ids, "link": link_id,
                "recipients": list(settings.recipients)}))
            return Declared(incident_in(c, incident_id), joined=False)

    declared = await env.run(write)
    env.incident_changed(IncidentChange(declared.incident.id, declared.incident.building_id,
                                        "joined" if declared.joined else "declared"))
    return declared


async def end(env: ServiceEnv, caller: Caller, incident_id: int, note: object,
              report_cameras: Sequence[object] = ()) -> IncidentRow:
    """End an incident (404 unknown or not visible, 403 not the caller's to end, 400 without a
    note or naming a camera the incident does not hold, 409 ended already). The holds stay,
    ending `tail_s` after now; the link is revoked. `report_cameras`: the held cameras whose
    video the incident's report carries (the report is made after the commit)."""
    row = await _visible(env, caller, incident_id)
    await require(env, caller, Action.DECLARE_INCIDENT, Target(building=row.building_id))
    text = check_note(note)
    video = check_report_cameras(report_cameras, row.cameras)
    settings = env.config.incidents
    now = caller.now_ns

    def write() -> IncidentRow:
        with env.index.transaction() as c:
            hold_end = hold_end_ns(now, settings.tail_s)
            ended = end_incident_in(c, incident_id, caller.actor, text, now, hold_end, video)
            if ended.link_id is not None:
                link_store.revoke_link_in(c, ended.link_id, now)
                append_in(c, now, caller.actor, "link.revoke", f"link:{ended.link_id}", "ok",
                          caller.audit_detail({"incident": incident_id}))
            state = DeliveryState.SKIPPED if ended.drill else DeliveryState.PENDING
            for recipient in settings.recipients:
                insert_delivery_in(c, incident_id, DeliveryEvent.ENDED, recipient, state, now)
            append_in(c, now, caller.actor, "incident.end", f"incident:{incident_id}", "ok", caller.audit_detail({
                "building": ended.building_id, "note": text, "hold_end": _iso(hold_end), "drill": ended.drill,
                "report_cameras": list(video)}))
            return ended

    ended = await env.run(write)
    env.incident_changed(IncidentChange(ended.id, ended.building_id, "ended"))
    return ended


def _may_see(caller: Caller, config: Config, row: IncidentRow) -> bool:
    if caller.is_appliance:
        return True
    subject = caller.subject
    if subject is None:
        return False
    if isinstance(subject, LinkSubject):
        return row.link_id == subject.link_id and caller.now_ns < subject.expires_ns
    known = frozenset({b.id for b in config.buildings} | {row.building_id})
    return row.building_id in visible_buildings(subject, known)


def _may_manage_link(caller: Caller, row: IncidentRow) -> bool:
    if caller.is_appliance:
        return True
    subject = caller.subject
    return subject is not None and decide(subject, Action.MANAGE_LINKS, Target(building=row.building_id),
                                          caller.now_ns).allowed


async def _visible(env: ServiceEnv, caller: Caller, incident_id: int) -> IncidentRow:
    row = await env.run(lambda: Incidents(env.index).get(incident_id))
    if not _may_see(caller, env.config, row):
        raise NotFoundError(f"no incident {incident_id}")  # one answer for unknown and not yours
    return row


async def visible_incident(env: ServiceEnv, caller: Caller, incident_id: int) -> IncidentRow:
    """The incident if the caller may see it; NotFoundError for unknown and not yours alike."""
    return await _visible(env, caller, incident_id)


async def list_incidents(env: ServiceEnv, caller: Caller, state: IncidentState | None) -> list[IncidentRow]:
    """The incidents the caller may see, newest first (the banner asks for the open ones)."""
    rows = await env.run(lambda: Incidents(env.index).incidents(state))
    return [r for r in rows if _may_see(caller, env.config, r)]


async def get_incident(env: ServiceEnv, caller: Caller, incident_id: int, request_base: str | None = None,
                       ) -> IncidentView:
    """One incident with its joins, its deliveries and, for who may manage links there, its
    link's URL while it is open."""
    row = await _visible(env, caller, incident_id)
    store = Incidents(env.index)
    joins, deliveries = await env.run(lambda: (store.joins(incident_id), store.deliveries(incident_id)))
    url = None
    if row.state is IncidentState.OPEN and row.link_id is not None and _may_manage_link(caller, row):
        key = await env.run(env.link_key)
        url = link_url(link_base_url(env.config, request_base), link_token(key, row.id))
    return IncidentView(row, tuple(joins), tuple(deliveries), url)


def incident_json(view: IncidentView, config: Config) -> dict[str, Any]:
    """The incident as the API answers it and `vigil incident show --json` prints it."""
    r = view.incident
    names = {b.id: b.name for b in config.buildings}
    return {
        "id": r.id, "building": r.building_id, "building_name": names.get(r.building_id, r.building_id),
        "cameras": list(r.cameras), "whole_building": r.whole_building, "reason": r.reason, "drill": r.drill,
        "state": r.state.value, "declared_by": r.declared_by, "declared_via": r.declared_via.value,
        "declared_at": _iso(r.declared_wall_ns), "declared_wall_ns": r.declared_wall_ns,
        "hold_start": _iso(r.hold_start_wall_ns), "hold_start_wall_ns": r.hold_start_wall_ns,
        "hold_end": _iso(r.hold_end_wall_ns), "hold_end_wall_ns": r.hold_end_wall_ns,
        "ended_at": _iso(r.ended_wall_ns), "ended_by": r.ended_by, "end_note": r.end_note,
        "link_id": r.link_id, "link_url": view.link_url, "report_cameras": list(r.report_cameras),
        "report_export_id": r.report_export_id,
        "joins": [{"actor": j.actor, "via": j.via.value, "reason": j.reason, "at": _iso(j.wall_ns)}
                  for j in view.joins],
        "deliveries": [{"id": d.id, "event": d.event.value, "recipient": d.recipient, "state": d.state.value,
                        "attempts": d.attempts, "last_error": d.last_error,
                        "next_attempt_at": _iso(d.next_attempt_wall_ns), "delivered_at": _iso(d.delivered_wall_ns)}
                       for d in view.deliveries],
    }
