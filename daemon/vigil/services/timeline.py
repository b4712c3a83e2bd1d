"""A camera's timeline: recorded spans, gaps and why, motion, bookmarks, evidence holds and door
events in a range. The reads are store/timeline.py's and store/door_events.py's, the merging
core.timeline's; all of it runs on a database thread."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.errors import BadRequestError, NotFoundError
from vigil.core.permissions import Action, Target
from vigil.core.timebase import NS_PER_SECOND
from vigil.core.timeline import Gap, Recorded, coverage
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.door_events import DoorEventRow, camera_door_events_sync
from vigil.services.env import ServiceEnv
from vigil.services.holds import may_manage
from vigil.store.holds import BookmarkRow, HoldRow
from vigil.store.timeline import MotionSpan, read_timeline

__all__ = ["MAX_TIMELINE_NS", "BookmarkRow", "DoorEventRow", "Gap", "HoldRow", "MotionSpan", "Recorded", "Timeline",
           "TimelineHold", "TimelineQuery", "camera_timeline"]

MAX_TIMELINE_NS = 31 * 86_400 * NS_PER_SECOND


@dataclass(frozen=True)
class TimelineQuery:
    camera_id: str
    start_ns: int
    end_ns: int


@dataclass(frozen=True)
class TimelineHold:
    hold: HoldRow
    # Whether the caller may manage the hold: viewers see that footage is held, not the case behind it.
    manageable: bool


@dataclass(frozen=True)
class Timeline:
    camera_id: str
    start_ns: int
    end_ns: int
    now_ns: int
    recorded: tuple[Recorded, ...]
    gaps: tuple[Gap, ...]
    motion: tuple[MotionSpan, ...]
    bookmarks: tuple[BookmarkRow, ...]
    holds: tuple[TimelineHold, ...]
    door_events: tuple[DoorEventRow, ...]  # none for a caller who may not see the building's door events


async def camera_timeline(env: ServiceEnv, caller: Caller, query: TimelineQuery) -> Timeline:
    """The timeline of [start, end) (at most 31 days) of a camera the caller may play back."""
    camera, start, end = query.camera_id, query.start_ns, query.end_ns
    building = env.config.building_of(camera)
    if building is None:
        raise NotFoundError(f"no camera {camera!r}")
    if end <= start:
        raise BadRequestError("end must be after start")
    if end - start > MAX_TIMELINE_NS:
        raise BadRequestError("a timeline covers at most 31 days; ask for a shorter range")
    await require(env, caller, Action.VIEW_PLAYBACK, Target(building=building, camera=camera, start_ns=start,
                                                              end_ns=end))

    def read() -> Timeline:
        inputs = read_timeline(env.index, camera, building, start, end)
        doors = camera_door_events_sync(env, caller, camera, building, start, end)
        cover = coverage(inputs.segments, inputs.runs, inputs.events, start, end, caller.now_ns)
        return Timeline(camera, start, end, caller.now_ns, cover.recorded, cover.gaps, tuple(inputs.motion),
                        tuple(inputs.bookmarks),
                        tuple(TimelineHold(h, may_manage(env.config, caller, h)) for h in inputs.holds),
                        tuple(doors))

    return await env.run(read)
