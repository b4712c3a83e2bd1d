"""Buildings and cameras as far as the caller may see them: the camera list with each camera's
status and outages of the last day, a camera's recorded segments and motion in a range, the
appliance's health figures and the local capture devices an installer could add.

What the running daemon knows (camera status, storage state, live sessions) comes in from the
caller (the API's Services); what the index knows is read on a database thread."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from vigil.camera_setup.hw_encoder import v4l2_encoders, vaapi_devices
from vigil.config import CameraConfig
from vigil.core.errors import BadRequestError, NotFoundError
from vigil.core.figure_scope import FigureScope, figures_scope, live_sessions_shown
from vigil.core.hotplug import ApplianceSource, AvailableCamera, usb_addable
from vigil.core.motion_intervals import MotionInterval, bitmask_cells
from vigil.core.permissions import Action, Target
from vigil.core.storage_report import BudgetProblem
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.core.timeline import CameraEvent
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.services.visibility import visible_building_ids, visible_cameras
from vigil.store.motion import MotionStore
from vigil.store.rows import SegmentRow
from vigil.store.timeline import recent_events

__all__ = [
    "ApplianceState",
    "BuildingView",
    "CameraStatusLike",
    "CameraStatuses",
    "CameraView",
    "Health",
    "MotionQuery",
    "MotionSearch",
    "SegmentList",
    "SegmentQuery",
    "SegmentRow",
    "building_list",
    "camera_list",
    "health",
    "list_segments",
    "local_devices",
    "motion_json",
    "search_motion",
    "usb_addability",
]

DAY_NS = 86_400 * NS_PER_SECOND
GAPS_SHOWN = 20  # a camera's newest outages of the last day in the camera list


class CameraStatusLike(Protocol):
    """A camera's state as the recorder knows it (api.context.CameraStatus)."""

    @property
    def state(self) -> str: ...  # starting, up, down

    @property
    def reason(self) -> str | None: ...

    @property
    def recording(self) -> bool: ...

    @property
    def last_frame_wall_ns(self) -> int | None: ...

    @property
    def paused_reason(self) -> str | None: ...  # disk_full, write_error (core/write_failure.py)

    @property
    def clock_skew_ms(self) -> float | None: ...  # camera - appliance clock from RTCP; None: unknown


class CameraStatuses(Protocol):
    def camera_status(self, camera_id: str) -> CameraStatusLike: ...


# --- buildings and cameras ----------------------------------------------------------------------

@dataclass(frozen=True)
class BuildingView:
    id: str
    name: str
    cameras: tuple[str, ...]  # those the caller may see


def building_list(env: ServiceEnv, caller: Caller) -> list[BuildingView]:
    """The buildings the caller may see, with the cameras there they may see (no index reads)."""
    visible = visible_building_ids(env.config, caller)
    cams = visible_cameras(env.config, caller)
    return [BuildingView(b.id, b.name, tuple(c.id for c in cams if c.building == b.id))
            for b in env.config.buildings if b.id in visible]


@dataclass(frozen=True)
class CameraView:
    camera: CameraConfig
    status: CameraStatusLike
    outages_24h: tuple[CameraEvent, ...]  # its newest camera_down events of the last day, oldest first


async def camera_list(env: ServiceEnv, caller: Caller, statuses: CameraStatuses) -> list[CameraView]:
    cams = visible_cameras(env.config, caller)
    since = caller.now_ns - DAY_NS

    def outages() -> list[list[CameraEvent]]:
        return [recent_events(env.index, c.id, "camera_down", since, GAPS_SHOWN) for c in cams]

    found = await env.run(outages)
    return [CameraView(c, statuses.camera_status(c.id), tuple(events)) for c, events in zip(cams, found, strict=True)]


# --- recorded segments ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SegmentQuery:
    camera_id: str | None  # None: every camera the caller may see
    start_ns: int | None = None  # segments ending after this
    end_ns: int | None = None  # segments starting before this
    limit: int | None = None  # at most this many (the oldest); None: all


@dataclass(frozen=True)
class SegmentList:
    query: SegmentQuery
    truncated: bool  # more than `limit` matched
    segments: tuple[SegmentRow, ...]


async def _require_playback(env: ServiceEnv, caller: Caller, camera_id: str, start_ns: int | None,
                            end_ns: int | None) -> None:
    """The appliance's own callers may read any camera's recordings, also of a camera no longer
    configured; others only of a configured camera they may play back in that range."""
    if caller.is_appliance:
        return
    building = env.config.building_of(camera_id)
    if building is None:
        raise NotFoundError(f"no camera {camera_id!r}")
    await require(env, caller, Action.VIEW_PLAYBACK, Target(building, camera_id, start_ns, end_ns))


async def list_segments(env: ServiceEnv, caller: Caller, query: SegmentQuery) -> SegmentList:
    """Complete segments overlapping [start, end), oldest first."""
    if query.camera_id is not None:
        await _require_playback(env, caller, query.camera_id, query.start_ns, query.end_ns)
    rows = await env.run(lambda: env.index.segments(query.camera_id, query.start_ns, query.end_ns))
    if query.camera_id is None and not caller.is_appliance:
        shown_ids = {c.id for c in visible_cameras(env.config, caller)}
        rows = [r for r in rows if r.camera_id in shown_ids]
    shown = rows if query.limit is None else rows[:query.limit]
    return SegmentList(query, len(shown) < len(rows), tuple(shown))


# --- motion --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MotionQuery:
    camera_id: str
    start_ns: int
    end_ns: int
    region: int | None = None  # a cell bitmask (core.motion_intervals.region_bitmask): only motion touching it


@dataclass(frozen=True)
class MotionSearch:
    query: MotionQuery
    intervals: tuple[MotionInterval, ...]
    heatmap: tuple[tuple[float, ...], ...]  # the range's per-cell maximum, 0..1, rows top to bottom


async def search_motion(env: ServiceEnv, caller: Caller, query: MotionQuery) -> MotionSearch:
    """Motion intervals of a configured camera in [start, end) (those touching `region`, if given)
    and the range's heatmap."""
    if env.config.building_of(query.camera_id) is None:
        raise NotFoundError(f"no camera {query.camera_id!r}")
    if query.end_ns <= query.start_ns:
        raise BadRequestError("end must be after start")
    await _require_playback(env, caller, query.camera_id, query.start_ns, query.end_ns)

    def read() -> MotionSearch:
        store = MotionStore(env.index)
        intervals = store.intervals(query.camera_id, query.start_ns, query.end_ns, query.region)
        heat = store.heatmap(query.camera_id, query.start_ns, query.end_ns)
        return MotionSearch(query, tuple(intervals), tuple(tuple(float(v) for v in row) for row in heat))

    return await env.run(read)


def motion_json(search: MotionSearch) -> dict[str, Any]:
    """The JSON form: the body of `GET /api/cameras/{id}/motion` and the output of `vigil motion --json`."""
    def interval(i: MotionInterval) -> dict[str, Any]:
        return {"start": wall_ns_to_iso(i.start_wall_ns), "end": wall_ns_to_iso(i.end_wall_ns),
                "start_wall_ns": i.start_wall_ns, "end_wall_ns": i.end_wall_ns, "peak": i.peak,
                "cells": [list(c) for c in bitmask_cells(i.cells)]}

    q = search.query
    return {"camera": q.camera_id, "start": wall_ns_to_iso(q.start_ns), "end": wall_ns_to_iso(q.end_ns),
            "intervals": [interval(i) for i in search.intervals],
            "heatmap": [[round(v, 3) for v in row] for row in search.heatmap]}


# --- health --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApplianceState:
    """What the running daemon knows about itself (none of it is in the index)."""

    statuses: CameraStatuses
    storage_state: str  # core.hotplug.StorageState's value: ok, missing, foreign
    budget: BudgetProblem | None  # what is wrong with the storage budget (core.storage_report)
    live_session_cameras: tuple[str, ...]  # the camera of each live session
    started_wall_ns: int
    tasks: int  # the daemon's asyncio tasks


@dataclass(frozen=True)
class Health:
    ok: bool  # every camera the caller sees is up, storage is ok, no recorder paused, the budget is possible
    storage: str  # ok, missing, foreign, full (recorders paused on a full disk)
    scope: FigureScope
    uptime_s: float
    cameras_total: int
    cameras_up: int
    cameras_recording: int
    paused: Mapping[str, str]  # camera -> why its recorder paused (disk_full, write_error)
    clock_skew_ms: Mapping[str, float | None]  # camera -> its clock - the appliance's (RTCP; None: unknown)
    live_sessions: int
    tasks: int | None  # appliance scope only
    budget: BudgetProblem | None  # appliance scope only (its message names the appliance's figures)


def health(env: ServiceEnv, caller: Caller, state: ApplianceState) -> Health:
    """Health of what the caller may see: their cameras, the live sessions on them, and the
    daemon's task count and budget problem only with appliance scope (core.figure_scope)."""
    cams = visible_cameras(env.config, caller)
    states = [state.statuses.camera_status(c.id) for c in cams]
    up = sum(s.state == "up" for s in states)
    paused = {c.id: s.paused_reason for c, s in zip(cams, states, strict=True) if s.paused_reason}
    storage = state.storage_state
    if storage == "ok" and "disk_full" in paused.values():
        storage = "full"  # recording stopped until holds are released or space is freed
    impossible = state.budget is not None and state.budget.impossible
    scope = FigureScope.APPLIANCE if caller.is_appliance else figures_scope(caller.require_subject()).scope
    appliance = scope is FigureScope.APPLIANCE
    return Health(
        ok=up == len(states) and storage == "ok" and not paused and not impossible, storage=storage, scope=scope,
        uptime_s=round((caller.now_ns - state.started_wall_ns) / NS_PER_SECOND, 1), cameras_total=len(states),
        cameras_up=up, cameras_recording=sum(s.recording for s in states), paused=paused,
        clock_skew_ms={c.id: s.clock_skew_ms for c, s in zip(cams, states, strict=True)},
        live_sessions=live_sessions_shown(scope, state.live_session_cameras, {c.id for c in cams}),
        tasks=state.tasks if appliance else None, budget=state.budget if appliance else None)


# --- local capture devices -----------------------------------------------------------------------

def usb_addability() -> tuple[bool, str]:
    """Whether local USB cameras can be added, and why not (the appliance's hardware encoders)."""
    return usb_addable(v4l2_encoders(), vaapi_devices())


def local_devices(appliance: ApplianceSource | None) -> list[AvailableCamera]:
    """USB/V4L2 cameras found by hot-plug that an installer could add (none without the appliance layer)."""
    return [] if appliance is None else appliance.available_cameras()
