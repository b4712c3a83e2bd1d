"""services/wall_views.py over a real index: a user's views are their own; cameras they may not
watch are refused on save and never returned; each change with its audit entry in one transaction."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support.audit_failure import count, fail_audit_writes
from tests.support.service_env import NOW, api_caller, appliance, hs_link
from vigil.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from vigil.core.permissions import UserSubject
from vigil.core.wall_views import MAX_VIEWS_PER_USER, ViewRequest
from vigil.services import wall_views
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv

Subjects = dict[str, UserSubject]


def who(subjects: Subjects, name: str) -> Caller:
    return api_caller(subjects[name], NOW)


def entries(env: ServiceEnv, action: str) -> list[tuple[str, str, str]]:
    return [(e.actor, e.target, e.outcome) for e in env.audit.entries(limit=1000) if e.action == action]


async def test_a_user_sees_and_changes_only_their_own_views(env: ServiceEnv, subjects: Subjects) -> None:
    viewer, admin = who(subjects, "hs-viewer"), who(subjects, "hs-admin")
    mine = await wall_views.create_view(env, viewer, ViewRequest("Front doors", 4, (None, "hs-cam")))
    theirs = await wall_views.create_view(env, admin, ViewRequest("Front doors", 1, ("hs-cam",)))  # same name: ok
    assert [v.id for v in await wall_views.list_views(env, viewer)] == [mine.id]
    assert [v.id for v in await wall_views.list_views(env, admin)] == [theirs.id]
    with pytest.raises(NotFoundError):
        await wall_views.get_view(env, viewer, theirs.id)
    with pytest.raises(NotFoundError):
        await wall_views.update_view(env, viewer, theirs.id, ViewRequest("taken over", 1, ()))
    with pytest.raises(NotFoundError):
        await wall_views.delete_view(env, viewer, theirs.id)
    assert (await wall_views.get_view(env, admin, theirs.id)).name == "Front doors"  # unchanged
    # the attempts on another's view are audited as denied
    assert entries(env, "view.update") == [("user:hs-viewer", f"view:{theirs.id}", "denied")]
    assert entries(env, "view.delete") == [("user:hs-viewer", f"view:{theirs.id}", "denied")]
    updated = await wall_views.update_view(env, viewer, mine.id, ViewRequest("Gym", 9, ("hs-cam",)))
    assert (updated.name, updated.layout, updated.cameras) == ("Gym", 9, ("hs-cam",))
    assert (await wall_views.delete_view(env, viewer, mine.id)).name == "Gym"
    assert await wall_views.list_views(env, viewer) == []
    assert entries(env, "view.create") == [("user:hs-viewer", f"view:{mine.id}", "ok"),
                                           ("user:hs-admin", f"view:{theirs.id}", "ok")]


async def test_cameras_outside_the_viewers_buildings_are_refused_and_never_returned(
        env: ServiceEnv, subjects: Subjects) -> None:
    viewer = who(subjects, "hs-viewer")
    with pytest.raises(PermissionDeniedError):
        await wall_views.create_view(env, viewer, ViewRequest("sneaky", 4, ("hs-cam", "ms-cam")))
    assert await wall_views.list_views(env, viewer) == []
    assert entries(env, "view_live") == [("user:hs-viewer", "camera:ms-cam", "denied")]
    view = await wall_views.create_view(env, viewer, ViewRequest("hs", 4, ("hs-cam",)))
    with pytest.raises(PermissionDeniedError):
        await wall_views.update_view(env, viewer, view.id, ViewRequest("hs", 4, ("ms-cam", "hs-cam")))
    assert (await wall_views.get_view(env, viewer, view.id)).cameras == ("hs-cam",)
    # The district admin saves a view of both buildings, then loses building ms (their role changes
    # to a building admin of hs): ms-cam's tile comes back empty, never named.
    district = who(subjects, "district")
    both = await wall_views.create_view(env, district, ViewRequest("campus", 4, ("ms-cam", "hs-cam")))
    assert both.cameras == ("ms-cam", "hs-cam")
    demoted = replace(district, subject=replace(subjects["hs-admin"], user_id=subjects["district"].user_id))
    assert (await wall_views.get_view(env, demoted, both.id)).cameras == (None, "hs-cam")
    assert [v.cameras for v in await wall_views.list_views(env, demoted)] == [(None, "hs-cam")]
    assert (await wall_views.delete_view(env, demoted, both.id)).cameras == (None, "hs-cam")


async def test_only_users_whose_role_watches_live_video_have_views(env: ServiceEnv, subjects: Subjects) -> None:
    for caller in (who(subjects, "installer"), who(subjects, "door-system"), hs_link(NOW), appliance(NOW)):
        with pytest.raises(PermissionDeniedError):
            await wall_views.list_views(env, caller)
        with pytest.raises(PermissionDeniedError):
            await wall_views.create_view(env, caller, ViewRequest("x", 1, ()))
    assert count(env.index, "SELECT COUNT(*) FROM wall_views") == 0


async def test_names_are_unique_per_user_and_views_are_capped(env: ServiceEnv, subjects: Subjects) -> None:
    viewer = who(subjects, "hs-viewer")
    first = await wall_views.create_view(env, viewer, ViewRequest("Lobby", 1, ()))
    with pytest.raises(ConflictError):
        await wall_views.create_view(env, viewer, ViewRequest("Lobby", 4, ()))
    second = await wall_views.create_view(env, viewer, ViewRequest("Gym", 1, ()))
    with pytest.raises(ConflictError):
        await wall_views.update_view(env, viewer, second.id, ViewRequest("Lobby", 1, ()))
    assert (await wall_views.update_view(env, viewer, first.id, ViewRequest("Lobby", 16, ()))).layout == 16
    for n in range(MAX_VIEWS_PER_USER - 2):
        await wall_views.create_view(env, viewer, ViewRequest(f"v{n}", 1, ()))
    with pytest.raises(ConflictError, match="saved views already"):
        await wall_views.create_view(env, viewer, ViewRequest("one too many", 1, ()))


@pytest.mark.parametrize("action", ["view.create", "view.update", "view.delete"])
async def test_a_change_whose_audit_entry_fails_does_not_happen(env: ServiceEnv, subjects: Subjects,
                                                               action: str) -> None:
    viewer = who(subjects, "hs-viewer")
    view = await wall_views.create_view(env, viewer, ViewRequest("Lobby", 4, ("hs-cam",)))
    fail_audit_writes(env.index, action)
    with pytest.raises(Exception, match="audit write failed"):
        if action == "view.create":
            await wall_views.create_view(env, viewer, ViewRequest("Gym", 1, ()))
        elif action == "view.update":
            await wall_views.update_view(env, viewer, view.id, ViewRequest("Gym", 1, ()))
        else:
            await wall_views.delete_view(env, viewer, view.id)
    assert [(v.name, v.layout, v.cameras) for v in await wall_views.list_views(env, viewer)] == [
        ("Lobby", 4, ("hs-cam",))]
    assert count(env.index, f"SELECT COUNT(*) FROM audit WHERE action = '{action}'") == (  # noqa: S608
        1 if action == "view.create" else 0)
