"""Evidence holds: place, list, release. The API, the CLI (`vigil hold`) and the export worker
call these; each change commits with its audit entry in ONE transaction (a crash, or a failing
audit write, leaves neither), on a database thread.

Who may: placing, listing and releasing need HOLD_EVIDENCE on every building (and camera) the
hold is about; a hold on every camera is about every building. The CLI and the workers act as
the appliance (services/authorize.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vigil.config import Config
from vigil.core.errors import BadRequestError, NotFoundError
from vigil.core.holds import MAX_REASON_CHARS, HoldRequest, check_text
from vigil.core.incidents import OPEN_HOLD_END_WALL_NS
from vigil.core.permissions import Action, Target
from vigil.core.timebase import wall_ns_to_iso
from vigil.core.timeline import HoldState, hold_state
from vigil.services.authorize import denial_or_none, require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import append_in
from vigil.store.holds import EvidenceStore, HoldRow, NewHold, hold_in, insert_hold, release_hold_in

__all__ = ["HoldQuery", "HoldRow", "HoldState", "create_hold", "hold_json", "hold_targets", "insert_holds_in",
           "list_holds", "may_manage", "release_hold"]


@dataclass(frozen=True)
class HoldQuery:
    """Which holds to list: overlapping [start, end), covering a camera (None: any), in a state."""

    camera_id: str | None = None
    start_wall_ns: int | None = None
    end_wall_ns: int | None = None
    state: HoldState | None = None  # None: every state


def _iso(ns: int | None) -> str | None:
    return None if ns is None else wall_ns_to_iso(ns)


def hold_targets(config: Config, camera_id: str | None) -> list[Target]:
    """What a hold on `camera_id` is about; a hold on every camera (None) is about every building."""
    if camera_id is None:
        return [Target(building=b) for b in sorted(b.id for b in config.buildings)]
    return [Target(building=config.building_of(camera_id), camera=camera_id)]


def may_manage(config: Config, caller: Caller, row: HoldRow) -> bool:
    """Whether the caller may see the hold's case and release it (pure: no audit entry)."""
    return all(denial_or_none(caller, Action.HOLD_EVIDENCE, t) is None for t in hold_targets(config, row.camera_id))


def hold_json(row: HoldRow, now_ns: int) -> dict[str, Any]:
    """The hold as the API answers it and `vigil hold list --json` prints it."""
    return {"id": row.id, "camera": row.camera_id, "start": _iso(row.start_wall_ns), "end": _iso(row.end_wall_ns),
            "start_wall_ns": row.start_wall_ns, "end_wall_ns": row.end_wall_ns, "reason": row.reason,
            "case_id": row.case_id, "created_by": row.created_by, "created_at": _iso(row.created_wall_ns),
            "until": _iso(row.until_wall_ns),
            "state": hold_state(row.until_wall_ns, row.released_wall_ns, now_ns).value,
            "released_at": _iso(row.released_wall_ns), "released_by": row.released_by,
            "door_event_id": row.door_event_id, "incident_id": row.incident_id,
            "until_incident_ends": row.end_wall_ns == OPEN_HOLD_END_WALL_NS}


def insert_holds_in(c: sqlite3.Connection, caller: Caller, holds: Sequence[NewHold],
                    more_detail: Mapping[str, Any] | None = None) -> list[int]:
    """Insert holds with their `hold.create` entries inside the caller's open transaction (the
    export worker adds its export's row and entry to the same one)."""
    ids = []
    for new in holds:
        hold_id = insert_hold(c, new, caller.now_ns)
        append_in(c, caller.now_ns, caller.actor, "hold.create", f"hold:{hold_id}", "ok", caller.audit_detail({
            "camera": new.camera_id, "start": _iso(new.start_wall_ns), "end": _iso(new.end_wall_ns),
            "reason": new.reason, "case_id": new.case_id, "until": _iso(new.until_wall_ns), **(more_detail or {})}))
        ids.append(hold_id)
    return ids


async def create_hold(env: ServiceEnv, caller: Caller, req: HoldRequest) -> list[HoldRow]:
    """One hold per camera of the request (core.holds.make_hold checked what it says); every one
    is refused if the caller may not hold any one."""
    for camera in req.cameras:
        for target in hold_targets(env.config, camera):
            await require(env, caller, Action.HOLD_EVIDENCE, target)
    holds = [NewHold(camera, req.start_wall_ns, req.end_wall_ns, req.reason, caller.actor, req.until_wall_ns,
                     req.case_id) for camera in req.cameras]

    def write() -> list[HoldRow]:
        with env.index.transaction() as c:
            return [hold_in(c, i) for i in insert_holds_in(c, caller, holds)]

    return await env.run(write)


async def list_holds(env: ServiceEnv, caller: Caller, query: HoldQuery) -> list[HoldRow]:
    """The holds the caller may manage (any for the CLI), oldest start first."""
    if query.camera_id is not None and env.config.building_of(query.camera_id) is None:
        raise NotFoundError(f"no camera {query.camera_id!r}")
    if query.start_wall_ns is not None and query.end_wall_ns is not None and query.end_wall_ns <= query.start_wall_ns:
        raise BadRequestError("end must be after start")
    rows = await env.run(lambda: EvidenceStore(env.index).holds(query.camera_id, query.start_wall_ns,
                                                                 query.end_wall_ns))
    return [r for r in rows if may_manage(env.config, caller, r) and (
        query.state is None or hold_state(r.until_wall_ns, r.released_wall_ns, caller.now_ns) is query.state)]


async def release_hold(env: ServiceEnv, caller: Caller, hold_id: int, reason: object) -> HoldRow:
    """Release a hold (404 unknown, 403 not the caller's to release, then 400 without a reason,
    409 already released); retention may then delete what only it protected."""
    row = await env.run(lambda: EvidenceStore(env.index).hold(hold_id))
    for target in hold_targets(env.config, row.camera_id):
        await require(env, caller, Action.HOLD_EVIDENCE, target)
    why = check_text("reason", reason, MAX_REASON_CHARS, required=True)

    def write() -> HoldRow:
        with env.index.transaction() as c:
            released = release_hold_in(c, row.id, caller.actor, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "hold.release", f"hold:{row.id}", "ok", caller.audit_detail({
                "camera": row.camera_id, "start": _iso(row.start_wall_ns), "end": _iso(row.end_wall_ns),
                "hold_reason": row.reason, "case_id": row.case_id, "reason": why}))
            return released

    return await env.run(write)
