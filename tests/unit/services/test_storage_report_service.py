"""services/storage_report.py over a real index and the real disk: the scope each caller gets and
the JSON form both `GET /api/storage` and `vigil storage --json` print."""

from __future__ import annotations

import pytest

from tests.support.index_rows import MB, T0, S, record
from tests.support.service_env import appliance, hs_link, user
from vigil.core.figure_scope import FigureScope
from vigil.core.storage_report import Level
from vigil.services.env import ServiceEnv
from vigil.services.storage_report import report_json, scoped_storage_report

NOW = T0 + 3600 * S


@pytest.fixture(autouse=True)
def recorded(env: ServiceEnv) -> None:
    record(env.index, "hs-cam", T0, [60, 60], None, size_bytes=2 * MB)
    record(env.index, "ms-cam", T0, [60], None, size_bytes=3 * MB)
    record(env.index, "gone-cam", T0, [60], None, size_bytes=5 * MB)  # recordings of a camera since removed
    env.index.add_hold("hs-cam", T0, T0 + 60 * S, "case 9", "user:hs-admin", T0)


async def test_the_appliance_sees_every_camera_with_recordings_and_the_disk(env: ServiceEnv) -> None:
    scoped = await scoped_storage_report(env, appliance(NOW))
    assert scoped.scope is FigureScope.APPLIANCE
    report = scoped.report
    assert [(c.camera_id, c.recorded_bytes, c.held_bytes) for c in report.cameras] == [
        ("gone-cam", 5 * MB, 0), ("hs-cam", 4 * MB, 2 * MB), ("ms-cam", 3 * MB, 0)]
    assert (report.recorded_bytes, report.held_bytes) == (12 * MB, 2 * MB)
    assert len(report.disks) == 1 and report.disks[0].free_bytes > 0 and report.budget_bytes is not None
    body = report_json(scoped)
    assert body["scope"] == "appliance" and body["cameras"][1]["segments"] == 2
    assert body["warning"]["level"] == report.warning.level.value and body["disks"][0]["path"]


async def test_api_callers_see_the_configured_cameras_they_may_see(env: ServiceEnv) -> None:
    district = await scoped_storage_report(env, user("district", NOW))
    assert district.scope is FigureScope.APPLIANCE
    assert [c.camera_id for c in district.report.cameras] == ["hs-cam", "ms-cam"]
    assert district.report.recorded_bytes == 12 * MB  # the totals stay the appliance's
    for caller in (user("hs-viewer", NOW), hs_link(NOW)):
        viewer = await scoped_storage_report(env, caller)
        assert viewer.scope is FigureScope.CALLER
        report = viewer.report
        assert [c.camera_id for c in report.cameras] == ["hs-cam"]
        assert (report.recorded_bytes, report.held_bytes) == (4 * MB, 2 * MB)  # their camera's sums
        assert report.disks == () and report.budget_bytes is None and report.warning.held_fraction is None
        assert report.warning.level is Level.OK and "MiB" not in report.warning.message
        body = report_json(viewer)
        assert body["scope"] == "caller" and body["disks"] == [] and body["max_bytes"] is None
