"""Every audited change of holds, bookmarks and exports over the API commits with its audit entry or
not at all (issue 13): the audit write fails (tests/support/audit_failure.py), as a crash between
the change and its entry would, and neither the change nor the entry remains. With the change and
its entry written in two transactions (before issue 13) the change stayed behind."""

from __future__ import annotations

from typing import Any

from tests.support.api_harness import Api
from tests.support.audit_failure import count, fail_audit_writes, heal_audit_writes
from tests.support.index_rows import T0, S, iso, record

HOLD = {"start": iso(T0), "end": iso(T0 + 600 * S), "reason": "police request 2026-118"}


async def post(api: Api, who: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await api.client.post(path, headers=api.auth(who), json=body)
    return response.status, await response.json()


def entries(api: Api, action: str) -> int:
    return count(api.services.env.index, f"SELECT COUNT(*) FROM audit WHERE action = '{action}'")  # noqa: S608


async def test_a_hold_whose_entry_fails_is_not_placed(api: Api) -> None:
    fail_audit_writes(api.services.env.index, "hold.create")
    status, _ = await post(api, "hs-admin", "/api/holds", HOLD | {"cameras": ["hs-cam"]})
    assert status == 500
    assert count(api.services.env.index, "SELECT COUNT(*) FROM evidence_holds") == 0
    assert entries(api, "hold.create") == 0
    assert api.services.env.index.holds() == []  # retention sees no hold the audit log never mentions
    heal_audit_writes(api.services.env.index)
    assert (await post(api, "hs-admin", "/api/holds", HOLD | {"cameras": ["hs-cam"]}))[0] == 201
    assert entries(api, "hold.create") == 1


async def test_a_request_for_several_cameras_places_all_holds_or_none(api: Api) -> None:
    """The second camera's entry fails: the first camera's hold and entry go too."""
    fail_audit_writes(api.services.env.index, "hold.create", "hold:2")
    status, _ = await post(api, "district", "/api/holds", HOLD | {"cameras": ["hs-cam", "ms-cam"]})
    assert status == 500
    assert count(api.services.env.index, "SELECT COUNT(*) FROM evidence_holds") == 0
    assert entries(api, "hold.create") == 0


async def test_a_release_whose_entry_fails_leaves_the_hold_active(api: Api) -> None:
    _, created = await post(api, "hs-admin", "/api/holds", HOLD | {"cameras": ["hs-cam"]})
    [hold] = created["holds"]
    fail_audit_writes(api.services.env.index, "hold.release")
    status, _ = await post(api, "hs-admin", f"/api/holds/{hold['id']}/release", {"reason": "case closed"})
    assert status == 500
    assert [h.camera_id for h in api.services.env.index.holds()] == ["hs-cam"]
    assert count(api.services.env.index, "SELECT COUNT(*) FROM evidence_holds WHERE released_wall_ns IS NOT NULL") == 0
    assert entries(api, "hold.release") == 0


async def test_a_bookmark_whose_entry_fails_is_not_made_nor_deleted(api: Api) -> None:
    body = {"camera": "hs-cam", "start": iso(T0), "headline": "door propped open"}
    fail_audit_writes(api.services.env.index, "bookmark.create")
    assert (await post(api, "hs-viewer", "/api/bookmarks", body))[0] == 500
    assert count(api.services.env.index, "SELECT COUNT(*) FROM bookmarks") == 0
    assert entries(api, "bookmark.create") == 0
    heal_audit_writes(api.services.env.index)
    status, made = await post(api, "hs-viewer", "/api/bookmarks", body)
    assert status == 201
    fail_audit_writes(api.services.env.index, "bookmark.delete")
    response = await api.client.delete(f"/api/bookmarks/{made['id']}", headers=api.auth("hs-viewer"))
    assert response.status == 500
    assert count(api.services.env.index, "SELECT COUNT(*) FROM bookmarks") == 1
    assert entries(api, "bookmark.delete") == 0


async def test_an_export_whose_entries_fail_is_not_queued_nor_its_footage_held(api: Api) -> None:
    """Creating an export writes the export, a hold on each camera's originals and their entries."""
    record(api.services.env.index, "hs-cam", T0, [60, 60], "shutdown")
    body = {"cameras": ["hs-cam"], "start": iso(T0), "end": iso(T0 + 120 * S), "reason": "incident 42"}
    for action in ("hold.create", "export.create"):
        fail_audit_writes(api.services.env.index, action)
        assert (await post(api, "hs-admin", "/api/exports", body))[0] == 500, action
        assert count(api.services.env.index, "SELECT COUNT(*) FROM exports") == 0, action
        assert count(api.services.env.index, "SELECT COUNT(*) FROM evidence_holds") == 0, action
        assert entries(api, "hold.create") == entries(api, "export.create") == 0, action
        heal_audit_writes(api.services.env.index)
    status, queued = await post(api, "hs-admin", "/api/exports", body)
    assert status == 202 and queued["state"] == "queued"
    assert entries(api, "hold.create") == entries(api, "export.create") == 1
