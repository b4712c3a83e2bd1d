"""services/cameras.py over a real index: buildings and cameras as far as the caller may see
them, outages of the last day, segments and motion, and the health figures by scope."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from tests.support.index_rows import T0, S, record
from tests.support.service_env import appliance, hs_link, user
from vigil.core.errors import NotFoundError, PermissionDeniedError
from vigil.core.figure_scope import FigureScope
from vigil.core.motion import GRID
from vigil.core.motion_intervals import MotionInterval, region_bitmask
from vigil.core.storage_report import BudgetProblem
from vigil.services.cameras import (
    GAPS_SHOWN,
    ApplianceState,
    BuildingView,
    MotionQuery,
    SegmentQuery,
    building_list,
    camera_list,
    health,
    list_segments,
    motion_json,
    search_motion,
)
from vigil.services.env import ServiceEnv
from vigil.store.motion import MotionSecond, MotionStore

NOW = T0 + 86_400 * S
HOUR = 3600 * S


@dataclass(frozen=True)
class Status:
    state: str
    reason: str | None = None
    recording: bool = True
    last_frame_wall_ns: int | None = None
    paused_reason: str | None = None
    clock_skew_ms: float | None = None


class Statuses:
    def __init__(self, **by_camera: Status) -> None:
        self.by_camera = by_camera

    def camera_status(self, camera_id: str) -> Status:
        return self.by_camera.get(camera_id, Status("up"))


def test_buildings_list_only_what_the_caller_may_see(env: ServiceEnv) -> None:
    assert building_list(env, user("hs-viewer", NOW)) == [BuildingView("hs", "High School", ("hs-cam",))]
    assert [b.id for b in building_list(env, appliance(NOW))] == ["hs", "ms"]
    assert [b.cameras for b in building_list(env, user("district", NOW))] == [("hs-cam",), ("ms-cam",)]


async def test_cameras_with_status_and_their_newest_outages_of_the_last_day(env: ServiceEnv) -> None:
    env.index.add_event("hs-cam", "camera_down", NOW - 25 * HOUR, "old")  # more than a day ago
    for i in range(GAPS_SHOWN + 2):
        env.index.add_event("hs-cam", "camera_down", NOW - 23 * HOUR + i * S, f"refused {i}")
    env.index.add_event("hs-cam", "camera_up", NOW - HOUR)
    statuses = Statuses(**{"hs-cam": Status("down", "refused", False)})
    (hs,) = await camera_list(env, user("hs-viewer", NOW), statuses)
    assert (hs.camera.id, hs.status.state, hs.status.reason) == ("hs-cam", "down", "refused")
    assert [e.reason for e in hs.outages_24h] == [f"refused {i}" for i in range(2, GAPS_SHOWN + 2)]
    assert [v.camera.id for v in await camera_list(env, appliance(NOW), statuses)] == ["hs-cam", "ms-cam"]


async def test_segments_of_the_cameras_the_caller_may_play_back(env: ServiceEnv) -> None:
    record(env.index, "hs-cam", T0, [60, 60, 60], None)
    record(env.index, "ms-cam", T0, [60], None)
    record(env.index, "gone-cam", T0, [60], None)  # no longer configured
    every = await list_segments(env, appliance(NOW), SegmentQuery(None))
    assert sorted({s.camera_id for s in every.segments}) == ["gone-cam", "hs-cam", "ms-cam"]
    mine = await list_segments(env, user("hs-viewer", NOW), SegmentQuery(None))
    assert {s.camera_id for s in mine.segments} == {"hs-cam"}
    first = await list_segments(env, user("hs-viewer", NOW), SegmentQuery("hs-cam", T0, T0 + 600 * S, limit=2))
    assert first.truncated and [s.start_wall_ns - T0 for s in first.segments] == [0, 60 * S]
    assert not (await list_segments(env, hs_link(NOW), SegmentQuery("hs-cam", T0, T0 + 600 * S))).truncated
    assert [s.camera_id for s in (await list_segments(env, appliance(NOW), SegmentQuery("gone-cam"))).segments] == [
        "gone-cam"]
    with pytest.raises(PermissionDeniedError):
        await list_segments(env, user("hs-viewer", NOW), SegmentQuery("ms-cam", T0, T0 + S))
    with pytest.raises(NotFoundError):
        await list_segments(env, user("district", NOW), SegmentQuery("gone-cam", T0, T0 + S))


async def test_motion_search_returns_plain_numbers(env: ServiceEnv) -> None:
    store = MotionStore(env.index)
    top_left, bottom = 1, region_bitmask(0, 0.9, 1, 1)  # cell (0, 0); the bottom row
    store.add_interval("hs-cam", MotionInterval(T0 + 10 * S, T0 + 20 * S, 0.5, top_left))
    store.add_interval("hs-cam", MotionInterval(T0 + 30 * S, T0 + 40 * S, 0.25, bottom))
    heat = np.zeros((GRID, GRID), dtype=np.float32)
    heat[0, 0] = 0.5
    store.add_seconds("hs-cam", [MotionSecond(T0 // S + 10, 0.5, heat)])
    query = MotionQuery("hs-cam", T0, T0 + 60 * S)
    found = await search_motion(env, user("hs-viewer", NOW), query)
    assert [(i.start_wall_ns - T0, i.peak) for i in found.intervals] == [(10 * S, 0.5), (30 * S, 0.25)]
    assert type(found.heatmap[0][0]) is float and round(found.heatmap[0][0], 2) == 0.5 and found.heatmap[1][1] == 0
    only_bottom = await search_motion(env, appliance(NOW), MotionQuery("hs-cam", T0, T0 + 60 * S, bottom))
    assert [i.peak for i in only_bottom.intervals] == [0.25]
    body = motion_json(found)
    assert body["camera"] == "hs-cam" and body["intervals"][0]["cells"] == [[0, 0]]
    assert body["heatmap"][0][0] == 0.498 and len(body["heatmap"]) == GRID  # 0.5 stored as 127/255, to 3 places
    with pytest.raises(PermissionDeniedError):
        await search_motion(env, user("hs-viewer", NOW), MotionQuery("ms-cam", T0, T0 + S))
    with pytest.raises(NotFoundError):
        await search_motion(env, appliance(NOW), MotionQuery("nope", T0, T0 + S))


def test_health_figures_by_scope(env: ServiceEnv) -> None:
    budget = BudgetProblem("storage.min_free_bytes", True, "min_free_bytes is more than the disk")
    state = ApplianceState(Statuses(**{"ms-cam": Status("up", paused_reason="disk_full")}), "ok", budget,
                           ("hs-cam", "ms-cam", "ms-cam"), NOW - 90 * S, tasks=12)
    viewer = health(env, user("hs-viewer", NOW), state)
    assert (viewer.scope, viewer.cameras_total, viewer.live_sessions) == (FigureScope.CALLER, 1, 1)
    assert (viewer.tasks, viewer.budget, viewer.uptime_s) == (None, None, 90.0)
    assert viewer.storage == "ok" and dict(viewer.paused) == {} and not viewer.ok  # the budget is impossible
    district = health(env, user("district", NOW), state)
    assert (district.scope, district.cameras_total, district.live_sessions, district.tasks) == (
        FigureScope.APPLIANCE, 2, 3, 12)
    assert district.storage == "full" and dict(district.paused) == {"ms-cam": "disk_full"}
    assert district.budget == budget and not district.ok
    fine = health(env, appliance(NOW), ApplianceState(Statuses(), "ok", None, (), NOW, 3))
    assert fine.ok and fine.cameras_up == 2


def test_health_names_each_visible_camera_s_clock_skew(env: ServiceEnv) -> None:
    state = ApplianceState(Statuses(**{"hs-cam": Status("up", clock_skew_ms=-12.5)}), "ok", None, (), NOW, 3)
    assert dict(health(env, appliance(NOW), state).clock_skew_ms) == {"hs-cam": -12.5, "ms-cam": None}
    assert dict(health(env, user("hs-viewer", NOW), state).clock_skew_ms) == {"hs-cam": -12.5}
