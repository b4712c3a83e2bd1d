"""Bookmarks, evidence holds, the timeline and the storage report over the API: who may do what,
bad input, and the audit entries."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_harness import Api
from tests.support.index_rows import MB, T0, S, iso, record
from vigil.core.motion_intervals import MotionInterval
from vigil.store.motion import MotionStore


async def post(api: Api, who: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await api.client.post(path, headers=api.auth(who), json=body)
    return response.status, await response.json()


async def get(api: Api, who: str, path: str) -> tuple[int, Any]:
    response = await api.client.get(path, headers=api.auth(who))
    return response.status, await response.json()


def actions(api: Api, prefix: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [(e.actor, e.action, e.outcome, e.detail) for e in api.services.env.audit.entries(limit=10_000)
            if e.action.startswith(prefix)]


async def test_bookmarks_create_list_delete_by_creator_or_admin(api: Api) -> None:
    status, mine = await post(api, "hs-viewer", "/api/bookmarks", {
        "camera": "hs-cam", "start": iso(T0), "end": iso(T0 + 30 * S), "headline": "door propped open",
        "description": "east wing"})
    assert status == 201 and mine["created_by"] == "user:hs-viewer" and mine["building"] == "hs"
    assert (await post(api, "hs-viewer", "/api/bookmarks", {"camera": "ms-cam", "start": iso(T0),
                                                            "headline": "x"}))[0] == 403
    _, theirs = await post(api, "hs-admin", "/api/bookmarks", {"building": "hs", "start": iso(T0 + 60 * S),
                                                               "headline": "fire drill"})
    _, other = await post(api, "district", "/api/bookmarks", {"camera": "ms-cam", "start": iso(T0),
                                                              "headline": "ms only"})
    _, listed = await get(api, "hs-viewer", f"/api/bookmarks?start={iso(T0 - S)}&end={iso(T0 + 600 * S)}")
    assert [b["headline"] for b in listed] == ["door propped open", "fire drill"]  # not the other building's
    _, by_camera = await get(api, "district", "/api/bookmarks?camera=hs-cam")
    assert {b["id"] for b in by_camera} == {mine["id"], theirs["id"]}  # the camera's and its building's
    _, by_building = await get(api, "district", "/api/bookmarks?building=ms")
    assert [b["id"] for b in by_building] == [other["id"]]
    # A viewer deletes only their own; a building admin anyone's in their building.
    denied = await api.client.delete(f"/api/bookmarks/{theirs['id']}", headers=api.auth("hs-viewer"))
    assert denied.status == 403
    assert (await api.client.delete(f"/api/bookmarks/{mine['id']}", headers=api.auth("hs-viewer"))).status == 200
    assert (await api.client.delete(f"/api/bookmarks/{other['id']}", headers=api.auth("hs-admin"))).status == 403
    assert (await api.client.delete(f"/api/bookmarks/{theirs['id']}", headers=api.auth("district"))).status == 200
    log = actions(api, "bookmark.")
    assert [(a, act, o) for a, act, o, _ in log] == [
        ("user:hs-viewer", "bookmark.create", "ok"), ("user:hs-admin", "bookmark.create", "ok"),
        ("user:district", "bookmark.create", "ok"), ("user:hs-viewer", "bookmark.delete", "denied"),
        ("user:hs-viewer", "bookmark.delete", "ok"), ("user:district", "bookmark.delete", "ok")]
    assert log[4][3]["headline"] == "door propped open"  # the deleted bookmark's content stays in the audit log


async def test_holds_create_list_release_and_retention_view(api: Api) -> None:
    body = {"start": iso(T0), "end": iso(T0 + 600 * S), "reason": "police request 2026-118", "case_id": "2026-118"}
    status, created = await post(api, "hs-admin", "/api/holds", body | {"buildings": ["hs"]})
    assert status == 201
    [hold] = created["holds"]
    assert (hold["camera"], hold["state"], hold["until"], hold["created_by"]) == (
        "hs-cam", "active", None, "user:hs-admin")
    assert (await post(api, "hs-admin", "/api/holds", body | {"cameras": ["ms-cam"]}))[0] == 403
    assert (await post(api, "hs-admin", "/api/holds", body | {"all_cameras": True}))[0] == 403
    assert (await post(api, "hs-viewer", "/api/holds", body | {"cameras": ["hs-cam"]}))[0] == 403
    status, every = await post(api, "district", "/api/holds", body | {"all_cameras": True,
                                                                       "until": iso(api.clock.now_ns + 3600 * S)})
    assert status == 201 and every["holds"][0]["camera"] is None
    # Retention sees both (the every-camera one until `until`).
    assert {h.camera_id for h in api.services.env.index.holds()} == {"hs-cam", None}
    _, admin_list = await get(api, "hs-admin", "/api/holds")
    assert [h["id"] for h in admin_list] == [hold["id"]]  # a hold on every camera is the district's
    _, district_list = await get(api, "district", "/api/holds?camera=ms-cam&state=active")
    assert [h["id"] for h in district_list] == [every["holds"][0]["id"]]
    # Release: a reason is required; then it is released once, and retention no longer sees it.
    path = f"/api/holds/{hold['id']}/release"
    assert (await post(api, "hs-admin", path, {}))[0] == 400
    assert (await post(api, "hs-viewer", path, {"reason": "x"}))[0] == 403
    status, released = await post(api, "hs-admin", path, {"reason": "case closed"})
    assert status == 200 and released["state"] == "released" and released["released_by"] == "user:hs-admin"
    assert (await post(api, "hs-admin", path, {"reason": "again"}))[0] == 409
    assert {h.camera_id for h in api.services.env.index.holds()} == {None}
    # `until` passes: the hold is expired and protects nothing (Hold.covers is what retention asks).
    api.clock.now_ns += 3601 * S
    _, after = await get(api, "district", "/api/holds?state=expired")
    assert [h["id"] for h in after] == [every["holds"][0]["id"]]
    log = actions(api, "hold.")
    assert [(a, act, o) for a, act, o, _ in log] == [
        ("user:hs-admin", "hold.create", "ok"), ("user:district", "hold.create", "ok"),
        ("user:hs-admin", "hold.release", "ok")]
    assert log[0][3]["case_id"] == "2026-118" and log[2][3]["reason"] == "case closed"
    assert log[2][3]["hold_reason"] == "police request 2026-118"


async def test_timeline_merges_recordings_gaps_motion_bookmarks_and_holds(api: Api) -> None:
    index = api.services.env.index
    api.clock.now_ns = T0 + 3600 * S
    record(index, "hs-cam", T0, [60, 60, 60], "timeout")  # 0-180 s, then the camera timed out
    index.add_event("hs-cam", "camera_down", T0 + 180 * S, "refused")
    record(index, "hs-cam", T0 + 300 * S, [60, 60], "shutdown")  # 300-420 s, then vigil stopped
    record(index, "hs-cam", T0 + 500 * S, [60], None)  # 500-560 s
    MotionStore(index).add_interval("hs-cam", MotionInterval(T0 + 10 * S, T0 + 20 * S, 0.5, 1))
    record(index, "ms-cam", T0, [600], "shutdown")  # another camera: not in this timeline
    await post(api, "hs-admin", "/api/bookmarks", {"building": "hs", "start": iso(T0 + 5 * S), "headline": "bell"})
    await post(api, "hs-admin", "/api/holds", {"cameras": ["hs-cam"], "start": iso(T0), "end": iso(T0 + 60 * S),
                                               "reason": "case 9", "case_id": "9"})
    url = f"/api/cameras/hs-cam/timeline?start={iso(T0 - 60 * S)}&end={iso(T0 + 600 * S)}"
    status, tl = await get(api, "hs-admin", url)
    assert status == 200, tl
    assert [(r["start_wall_ns"] - T0, r["end_wall_ns"] - T0, r["segments"]) for r in tl["recorded"]] == [
        (0, 180 * S, 3), (300 * S, 420 * S, 2), (500 * S, 560 * S, 1)]
    assert [(g["start_wall_ns"] - T0, g["reason"], g["detail"]) for g in tl["gaps"]] == [
        (-60 * S, "not_recorded", None), (180 * S, "camera_down", "refused"),
        (420 * S, "daemon_stopped", "shutdown"), (560 * S, "unknown", None)]
    assert [(m["start_wall_ns"] - T0, m["peak"]) for m in tl["motion"]] == [(10 * S, 0.5)]
    assert [b["headline"] for b in tl["bookmarks"]] == ["bell"]
    assert [(h["reason"], h["case_id"], h["state"]) for h in tl["holds"]] == [("case 9", "9", "active")]
    # Viewers see that footage is held, not the case behind it; the read is audited.
    _, seen = await get(api, "hs-viewer", url)
    assert "reason" not in seen["holds"][0] and seen["holds"][0]["state"] == "active"
    assert ("user:hs-viewer", "playback.timeline", "ok") in [(a, b, c) for a, b, c, _ in actions(api, "playback.")]
    assert (await get(api, "hs-viewer", "/api/cameras/ms-cam/timeline"))[0] == 403


async def test_storage_report_counts_held_bytes_and_filters_cameras(api: Api) -> None:
    index = api.services.env.index
    held = record(index, "hs-cam", T0, [60, 60], "shutdown")
    record(index, "ms-cam", T0, [60], "shutdown")
    index.add_hold("hs-cam", T0, T0 + 60 * S, "case", "user:district", api.clock.now_ns)
    status, report = await get(api, "hs-viewer", "/api/storage")
    assert status == 200
    # a viewer's totals are its building's cameras' (tests/unit/api/test_figure_scope.py has every caller)
    assert report["recorded_bytes"] == 2 * MB and report["held_bytes"] == MB and len(held) == 2
    assert [(c["id"], c["recorded_bytes"], c["held_bytes"], c["oldest"]) for c in report["cameras"]] == [
        ("hs-cam", 2 * MB, MB, iso(T0))]
    _, everything = await get(api, "district", "/api/storage")
    assert [c["id"] for c in everything["cameras"]] == ["hs-cam", "ms-cam"]
    assert everything["recorded_bytes"] == 3 * MB and everything["disks"][0]["capacity_bytes"] > 0
    assert everything["warning"]["level"] in ("ok", "warning", "critical")


@pytest.mark.parametrize(("method", "path", "body", "status", "needle"), [
    ("GET", "/api/cameras/hs-cam/timeline?start=2026-01-02&end=2026-01-01", None, 400, "end must be after start"),
    ("GET", "/api/cameras/hs-cam/timeline?start=2026-01-01&end=2026-03-01", None, 400, "at most 31 days"),
    ("GET", "/api/cameras/nope/timeline", None, 404, "no camera"),
    ("POST", "/api/holds", {"cameras": ["hs-cam"], "start": "2026-01-01", "end": "2026-01-02"}, 400, "reason"),
    ("POST", "/api/holds", {"cameras": ["hs-cam"], "start": "2026-01-02", "end": "2026-01-01", "reason": "r"}, 400,
     "end must be after start"),
    ("POST", "/api/holds", {"cameras": ["nope"], "start": "2026-01-01", "end": "2026-01-02", "reason": "r"}, 404,
     "no camera"),
    ("POST", "/api/holds", {"cameras": "hs-cam", "start": "2026-01-01", "end": "2026-01-02", "reason": "r"}, 400,
     "list of ids"),
    ("POST", "/api/holds", {"cameras": ["hs-cam"], "start": "soon", "end": "2026-01-02", "reason": "r"}, 400,
     "start"),
    ("POST", "/api/holds/999/release", {"reason": "r"}, 404, "no evidence hold 999"),
    ("POST", "/api/holds/abc/release", {"reason": "r"}, 400, "hold id must be a number"),
    ("POST", "/api/holds/5\u00b9/release", {"reason": "r"}, 400, "hold id must be a number"),  # isdigit() but not int()
    ("DELETE", "/api/bookmarks/\u00b2", None, 400, "bookmark id must be a number"),
    ("DELETE", "/api/bookmarks/999", None, 404, "no bookmark 999"),
    ("POST", "/api/bookmarks", {"camera": "hs-cam", "start": "2026-01-01"}, 400, "headline"),
    ("POST", "/api/bookmarks", {"camera": "hs-cam", "building": "hs", "start": "2026-01-01", "headline": "h"}, 400,
     "either a camera or a building"),
    ("POST", "/api/bookmarks", {"camera": "hs-cam", "start": "2026-01-02", "end": "2026-01-01", "headline": "h"},
     400, "before start"),
    ("GET", "/api/bookmarks?camera=nope", None, 404, "no camera"),
    ("GET", "/api/holds?state=maybe", None, 400, "state must be"),
])
async def test_bad_input(api: Api, method: str, path: str, body: dict[str, Any] | None, status: int,
                         needle: str) -> None:
    response = await api.client.request(method, path, headers=api.auth("district"), json=body)
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    assert needle in (await response.json())["detail"]
