"""services/bookmarks.py over a real index: who may bookmark, see and delete; each change with its
audit entry in one transaction."""

from __future__ import annotations

import pytest

from tests.support.audit_failure import count, fail_audit_writes
from tests.support.service_env import NOW, S, user
from vigil.core.errors import NotFoundError, PermissionDeniedError
from vigil.core.holds import BookmarkRequest
from vigil.services import bookmarks
from vigil.services.bookmarks import BookmarkQuery
from vigil.services.env import ServiceEnv

T0 = NOW - 3600 * S


def about(camera: str | None, building: str, headline: str) -> BookmarkRequest:
    return BookmarkRequest(camera, building, T0, T0 + 30 * S, headline, "")


async def test_create_list_and_who_may_delete(env: ServiceEnv) -> None:
    mine = await bookmarks.create_bookmark(env, user("hs-viewer"), about("hs-cam", "hs", "door propped open"))
    theirs = await bookmarks.create_bookmark(env, user("hs-admin"), about(None, "hs", "fire drill"))
    other = await bookmarks.create_bookmark(env, user("district"), about("ms-cam", "ms", "ms only"))
    with pytest.raises(PermissionDeniedError):
        await bookmarks.create_bookmark(env, user("hs-viewer"), about("ms-cam", "ms", "not theirs"))
    viewer = user("hs-viewer")
    assert [b.id for b in await bookmarks.list_bookmarks(env, viewer, BookmarkQuery())] == [mine.id, theirs.id]
    assert [b.id for b in await bookmarks.list_bookmarks(env, user("district"), BookmarkQuery(building_id="ms"))] == [
        other.id]
    with pytest.raises(NotFoundError):
        await bookmarks.list_bookmarks(env, viewer, BookmarkQuery(building_id="nope"))
    with pytest.raises(PermissionDeniedError):  # neither its creator nor an admin of hs
        await bookmarks.delete_bookmark(env, viewer, theirs.id)
    assert (await bookmarks.delete_bookmark(env, viewer, mine.id)).headline == "door propped open"
    assert (await bookmarks.delete_bookmark(env, user("district"), theirs.id)).id == theirs.id
    with pytest.raises(NotFoundError):
        await bookmarks.delete_bookmark(env, user("district"), mine.id)
    log = [(e.actor, e.action, e.target, e.outcome) for e in env.audit.entries() if e.action.startswith("bookmark")]
    assert log == [
        ("user:hs-viewer", "bookmark.create", f"bookmark:{mine.id}", "ok"),
        ("user:hs-admin", "bookmark.create", f"bookmark:{theirs.id}", "ok"),
        ("user:district", "bookmark.create", f"bookmark:{other.id}", "ok"),
        ("user:hs-viewer", "bookmark", "camera:ms-cam", "denied"),
        ("user:hs-viewer", "bookmark.delete", f"bookmark:{theirs.id}", "denied"),
        ("user:hs-viewer", "bookmark.delete", f"bookmark:{mine.id}", "ok"),
        ("user:district", "bookmark.delete", f"bookmark:{theirs.id}", "ok")]
    deleted = env.audit.entries(action="bookmark.delete")[-1].detail
    assert deleted == {"camera": None, "building": "hs", "start": "2026-09-21T13:13:20.000Z",
                       "end": "2026-09-21T13:13:50.000Z", "headline": "fire drill", "created_by": "user:hs-admin",
                       "via": "token", "remote": "192.0.2.7"}


async def test_a_failing_entry_leaves_the_bookmarks_as_they_were(env: ServiceEnv) -> None:
    kept = await bookmarks.create_bookmark(env, user("hs-admin"), about("hs-cam", "hs", "kept"))
    fail_audit_writes(env.index, "bookmark.create")
    with pytest.raises(Exception, match="the audit write failed"):
        await bookmarks.create_bookmark(env, user("hs-admin"), about("hs-cam", "hs", "lost"))
    fail_audit_writes(env.index, "bookmark.delete")
    with pytest.raises(Exception, match="the audit write failed"):
        await bookmarks.delete_bookmark(env, user("hs-admin"), kept.id)
    assert count(env.index, "SELECT COUNT(*) FROM bookmarks") == 1
    assert [e.action for e in env.audit.entries()] == ["bookmark.create"]
