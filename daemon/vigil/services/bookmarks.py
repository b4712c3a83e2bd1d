"""Bookmarks: create, list, delete. Each change commits with its audit entry in ONE transaction,
on a database thread.

Who may: creating needs BOOKMARK on the bookmark's building (and camera); deleting too, and
only the bookmark's creator or an admin of its building may; a listing holds the bookmarks of
footage the caller may play back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.config import Config
from vigil.core.errors import BadRequestError, NotFoundError, PermissionDeniedError
from vigil.core.holds import BookmarkRequest
from vigil.core.permissions import Action, Target, administers
from vigil.core.timebase import wall_ns_to_iso
from vigil.services.authorize import audit_denial_sync, denial_or_none, require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import append_in
from vigil.store.holds import BookmarkRow, EvidenceStore, NewBookmark, bookmark_in, delete_bookmark_in, insert_bookmark

__all__ = ["BookmarkQuery", "BookmarkRow", "bookmark_target", "create_bookmark", "delete_bookmark", "list_bookmarks"]


@dataclass(frozen=True)
class BookmarkQuery:
    """Bookmarks overlapping [start, end) about a camera (with its building's) or a building (None: all)."""

    camera_id: str | None = None
    building_id: str | None = None
    start_wall_ns: int | None = None
    end_wall_ns: int | None = None


def bookmark_target(config: Config, row: BookmarkRow) -> Target:
    building = row.building_id
    if building is None and row.camera_id is not None:
        building = config.building_of(row.camera_id)
    return Target(building=building, camera=row.camera_id)


def _detail(row: BookmarkRow) -> dict[str, Any]:
    return {"camera": row.camera_id, "building": row.building_id, "start": wall_ns_to_iso(row.start_wall_ns),
            "end": wall_ns_to_iso(row.end_wall_ns), "headline": row.headline, "created_by": row.created_by}


async def create_bookmark(env: ServiceEnv, caller: Caller, req: BookmarkRequest) -> BookmarkRow:
    """`req` was checked by core.holds.make_bookmark; the caller needs BOOKMARK on its building/camera."""
    await require(env, caller, Action.BOOKMARK, Target(building=req.building_id, camera=req.camera_id))
    new = NewBookmark(camera_id=req.camera_id, building_id=req.building_id, start_wall_ns=req.start_wall_ns,
                      end_wall_ns=req.end_wall_ns, headline=req.headline, created_by=caller.actor,
                      description=req.description)

    def write() -> BookmarkRow:
        with env.index.transaction() as c:
            row = bookmark_in(c, insert_bookmark(c, new, caller.now_ns))
            append_in(c, caller.now_ns, caller.actor, "bookmark.create", f"bookmark:{row.id}", "ok",
                      caller.audit_detail(_detail(row)))
            return row

    return await env.run(write)


async def list_bookmarks(env: ServiceEnv, caller: Caller, query: BookmarkQuery) -> list[BookmarkRow]:
    """With a camera: its own, its building's and the every-building ones; with a building: that
    building's (of its cameras too) and the every-building ones. Only those the caller may play back."""
    config, building = env.config, query.building_id
    if query.camera_id is not None:
        building = config.building_of(query.camera_id)
        if building is None:
            raise NotFoundError(f"no camera {query.camera_id!r}")
    elif building is not None and building not in {b.id for b in config.buildings}:
        raise NotFoundError(f"no building {building!r}")
    start, end = query.start_wall_ns, query.end_wall_ns
    if start is not None and end is not None and end <= start:
        raise BadRequestError("end must be after start")
    rows = await env.run(lambda: EvidenceStore(env.index).bookmarks(query.camera_id, building, start, end))
    if query.camera_id is None and building is not None:
        rows = [r for r in rows if bookmark_target(config, r).building in (building, None)]
    return [r for r in rows if denial_or_none(caller, Action.VIEW_PLAYBACK, bookmark_target(config, r)) is None]


def _may_delete(caller: Caller, row: BookmarkRow, building: str | None) -> bool:
    """Its creator, or an admin of its building (the CLI and workers always)."""
    if caller.is_appliance or row.created_by == caller.actor:
        return True
    return administers(caller.require_subject(), building)


async def delete_bookmark(env: ServiceEnv, caller: Caller, bookmark_id: int) -> BookmarkRow:
    """Delete a bookmark; returns what it said (its audit entry keeps that too)."""
    row = await env.run(lambda: EvidenceStore(env.index).bookmark(bookmark_id))
    target = bookmark_target(env.config, row)
    await require(env, caller, Action.BOOKMARK, target)
    if not _may_delete(caller, row, target.building):
        await env.run(lambda: audit_denial_sync(env, caller, "bookmark.delete", f"bookmark:{row.id}",
                                                "not the creator nor an admin"))
        raise PermissionDeniedError("only the bookmark's creator or an admin of its building may delete it")

    def write() -> BookmarkRow:
        with env.index.transaction() as c:
            deleted = delete_bookmark_in(c, row.id)
            append_in(c, caller.now_ns, caller.actor, "bookmark.delete", f"bookmark:{row.id}", "ok",
                      caller.audit_detail(_detail(deleted)))
            return deleted

    return await env.run(write)
