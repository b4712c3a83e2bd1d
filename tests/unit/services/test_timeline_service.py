"""services/timeline.py over a real index: the timeline as plain values, what a viewer, an admin
and a responder link see of holds and door events, and the range's limits."""

from __future__ import annotations

import pytest

from tests.support.index_rows import T0, S, record
from tests.support.service_env import appliance, hs_link, user
from vigil.core.errors import BadRequestError, NotFoundError, PermissionDeniedError
from vigil.core.motion_intervals import MotionInterval
from vigil.core.timeline import GapReason
from vigil.services.env import ServiceEnv
from vigil.services.timeline import MAX_TIMELINE_NS, Timeline, TimelineQuery, camera_timeline
from vigil.store.audit_log import AuditLog
from vigil.store.motion import MotionStore
from vigil.store.rows import NewBookmark

NOW = T0 + 3600 * S
SPAN = TimelineQuery("hs-cam", T0 - 60 * S, T0 + 600 * S)


@pytest.fixture
def recorded(env: ServiceEnv) -> None:
    index = env.index
    record(index, "hs-cam", T0, [60, 60], "timeout")  # 0-120 s, then the camera timed out
    index.add_event("hs-cam", "camera_down", T0 + 120 * S, "refused")
    record(index, "hs-cam", T0 + 300 * S, [60], None)  # 300-360 s
    MotionStore(index).add_interval("hs-cam", MotionInterval(T0 + 10 * S, T0 + 20 * S, 0.5, 1))
    index.add_bookmark(NewBookmark(None, "hs", T0 + 5 * S, T0 + 5 * S, "bell", "user:hs-admin"), T0)
    index.add_hold("hs-cam", T0, T0 + 60 * S, "case 9", "user:hs-admin", T0, case_id="9")
    index.add_hold(None, T0, T0 + 60 * S, "district case", "user:district", T0)  # every camera: every building
    with index.transaction() as c:  # a door event at the camera's door (the door service's row)
        c.execute("INSERT INTO door_events (source, event_id, dedupe_key, occurred_wall_ns, received_wall_ns,"
                  " skew_ns, kind, door_id, building_id, cameras, severity, flagged, flag_reasons, unmapped,"
                  " raw_truncated) VALUES ('lenel', 'e1', 'lenel:e1', ?, ?, 0, 'access_denied', 'hs-front', 'hs',"
                  " '[\"hs-cam\"]', 'high', 1, '[]', 0, 0)", (T0 + 30 * S, T0 + 30 * S))


@pytest.mark.usefixtures("recorded")
async def test_the_timeline_is_plain_values_merged_from_the_index(env: ServiceEnv) -> None:
    tl = await camera_timeline(env, user("hs-admin", NOW), SPAN)
    assert isinstance(tl, Timeline) and tl.now_ns == NOW
    assert [(r.start_wall_ns - T0, r.end_wall_ns - T0, r.segment_count) for r in tl.recorded] == [
        (0, 120 * S, 2), (300 * S, 360 * S, 1)]
    assert [(g.start_wall_ns - T0, g.reason) for g in tl.gaps] == [
        (-60 * S, GapReason.NOT_RECORDED), (120 * S, GapReason.CAMERA_DOWN), (360 * S, GapReason.UNKNOWN)]
    assert [(m.start_wall_ns - T0, m.peak) for m in tl.motion] == [(10 * S, 0.5)]
    assert [b.headline for b in tl.bookmarks] == ["bell"]
    assert [e.event_id for e in tl.door_events] == ["e1"]
    # A building admin manages the hold on their camera, not the district's hold on every building.
    assert [(h.hold.reason, h.manageable) for h in tl.holds] == [("case 9", True), ("district case", False)]


@pytest.mark.usefixtures("recorded")
async def test_what_each_caller_sees_of_holds_and_door_events(env: ServiceEnv) -> None:
    viewer = await camera_timeline(env, user("hs-viewer", NOW), SPAN)
    assert [h.manageable for h in viewer.holds] == [False, False]  # held, but not the case behind it
    assert [e.event_id for e in viewer.door_events] == ["e1"]
    district = await camera_timeline(env, user("district", NOW), SPAN)
    assert [h.manageable for h in district.holds] == [True, True]
    cli = await camera_timeline(env, appliance(NOW), SPAN)
    assert [h.manageable for h in cli.holds] == [True, True] and len(cli.door_events) == 1
    link = await camera_timeline(env, hs_link(NOW), SPAN)
    assert link.recorded == viewer.recorded and link.door_events == (), "links see footage, not badges"


async def test_the_range_camera_and_permission_are_checked(env: ServiceEnv) -> None:
    viewer = user("hs-viewer", NOW)
    with pytest.raises(BadRequestError, match="31 days"):
        await camera_timeline(env, viewer, TimelineQuery("hs-cam", T0, T0 + MAX_TIMELINE_NS + 1))
    with pytest.raises(BadRequestError):
        await camera_timeline(env, viewer, TimelineQuery("hs-cam", T0, T0))
    with pytest.raises(NotFoundError):
        await camera_timeline(env, viewer, TimelineQuery("nope", T0, T0 + S))
    with pytest.raises(PermissionDeniedError):
        await camera_timeline(env, viewer, TimelineQuery("ms-cam", T0, T0 + S))
    (denial,) = AuditLog(env.index).entries(action="view_playback")
    assert (denial.actor, denial.target, denial.outcome) == ("user:hs-viewer", "camera:ms-cam", "denied")
