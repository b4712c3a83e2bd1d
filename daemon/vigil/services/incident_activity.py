"""What happens around an open incident, for the pages that follow it: who is watching through
its responder link and what the link did (for the building's admins), and the door events at its
building since its hold's start (for everyone who sees the incident, its own responder too).

The link's live sessions are in memory (webrtc/sessions.py): the API hands them over as
`LiveView`s; this module decides who may see them and reads the rest from the index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vigil.core.audit_chain import AuditEntry
from vigil.core.permissions import Action, LinkSubject, Target
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.services.incidents import visible_incident
from vigil.store.door_events import MAX_LIST, DoorEventRow, DoorStore
from vigil.store.incidents import IncidentRow

__all__ = ["MAX_ACCESSES", "Activity", "LiveView", "incident_activity", "incident_door_events", "link_actor"]

MAX_ACCESSES = 1000  # the newest entries of the link's audit trail (a page shows the recent ones)


@dataclass(frozen=True)
class LiveView:
    """One live session now open with some credential (from the WHEP sessions registry)."""

    actor: str  # "link:<id>", "user:<name>", ...
    camera_id: str
    started_wall_ns: int
    remote: str | None = None


@dataclass(frozen=True)
class Activity:
    incident: IncidentRow
    viewers: tuple[LiveView, ...]  # the incident link's live sessions now
    accesses: tuple[AuditEntry, ...]  # what the link did since the declaration, oldest first


def link_actor(link_id: int) -> str:
    return f"link:{link_id}"


async def incident_activity(env: ServiceEnv, caller: Caller, incident_id: int,
                            live: Sequence[LiveView]) -> Activity:
    """The incident link's viewers now and its audited uses since the declaration: for who may
    manage links in the incident's building (404 for who does not see the incident, 403 for who
    sees it but may not manage links there, audited)."""
    row = await visible_incident(env, caller, incident_id)
    await require(env, caller, Action.MANAGE_LINKS, Target(building=row.building_id))
    if row.link_id is None:
        return Activity(row, (), ())
    actor = link_actor(row.link_id)
    entries = await env.run(lambda: env.audit.entries(start_ns=row.declared_wall_ns, actor=actor,
                                                      limit=MAX_ACCESSES, newest_first=True))
    viewers = tuple(sorted((v for v in live if v.actor == actor), key=lambda v: (v.started_wall_ns, v.camera_id)))
    return Activity(row, viewers, tuple(reversed(entries)))


async def incident_door_events(env: ServiceEnv, caller: Caller, incident_id: int) -> tuple[IncidentRow,
                                                                                           list[DoorEventRow]]:
    """The door events at the incident's building over its hold (from the look-back; until the
    end plus the tail once ended), by device time, oldest first: for who sees the incident and
    the door events there, and for the incident's own responder link (whose grant may name only
    cameras)."""
    row = await visible_incident(env, caller, incident_id)
    own_link = isinstance(caller.subject, LinkSubject) and caller.subject.link_id == row.link_id
    if not own_link:
        await require(env, caller, Action.VIEW_DOOR_EVENTS, Target(building=row.building_id))
    events = await env.run(lambda: DoorStore(env.index).events(
        row.hold_start_wall_ns, row.hold_end_wall_ns, buildings=(row.building_id,), include_placeless=False,
        limit=MAX_LIST))
    return row, events
