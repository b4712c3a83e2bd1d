"""Saved live-wall views: list, read, create, update, delete, each a user's own.

Who may: a signed-in user (or their API token) whose role has VIEW_LIVE; responder links and
the appliance's own callers have no views. Saving needs VIEW_LIVE on every camera the view names
(a denial is audited, then 403). A view that is not the caller's is answered as not found
(an attempt to change or delete it is audited as denied). Cameras the viewer may no longer see
are never returned: their tiles come back empty (core.wall_views.shown_tiles).

Each change commits with its audit entry (`view.create`, `view.update`, `view.delete`) in ONE
transaction, on a database thread."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from vigil.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from vigil.core.permissions import Action, Target, UserSubject
from vigil.core.wall_views import MAX_VIEWS_PER_USER, ViewRequest, shown_tiles
from vigil.services.authorize import audit_denial_sync, require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.services.visibility import may
from vigil.store import wall_views as store
from vigil.store.audit_log import append_in
from vigil.store.wall_views import WallViewRow

__all__ = ["WallViewRow", "create_view", "delete_view", "get_view", "list_views", "update_view"]


async def _owner(env: ServiceEnv, caller: Caller) -> UserSubject:
    """The signed-in user whose views these are, if their role may watch live video."""
    if not isinstance(caller.subject, UserSubject):
        raise PermissionDeniedError("live-wall views are saved per user: sign in as one")
    await require(env, caller, Action.VIEW_LIVE, Target())
    return caller.subject


def _shown(env: ServiceEnv, caller: Caller, row: WallViewRow) -> WallViewRow:
    """The view as its owner may see it now: cameras they may not watch become empty tiles."""
    def sees(camera: str) -> bool:
        building = env.config.building_of(camera)
        return building is not None and may(caller, Action.VIEW_LIVE, Target(building=building, camera=camera))

    return replace(row, cameras=shown_tiles(row.cameras, sees))


def _detail(name: str, layout: int, cameras: tuple[str | None, ...]) -> dict[str, Any]:
    return {"name": name, "layout": layout, "cameras": list(cameras)}


async def _require_cameras(env: ServiceEnv, caller: Caller, req: ViewRequest) -> None:
    for camera in req.named_cameras:  # core.wall_views.make_view checked that each is configured
        await require(env, caller, Action.VIEW_LIVE, Target(building=env.config.building_of(camera), camera=camera))


async def _own_view(env: ServiceEnv, caller: Caller, owner: UserSubject, view_id: int,
                    audit_as: str | None) -> WallViewRow:
    """The caller's view `view_id`; someone else's is not found (and an attempt to change it audited)."""
    row = await env.run(lambda: store.view(env.index, view_id))
    if row.user_id != owner.user_id:
        if audit_as is not None:
            await env.run(lambda: audit_denial_sync(env, caller, audit_as, f"view:{view_id}",
                                                    "the view belongs to another user"))
        raise NotFoundError(f"no view {view_id}")
    return row


async def list_views(env: ServiceEnv, caller: Caller) -> list[WallViewRow]:
    """The caller's views, by name."""
    owner = await _owner(env, caller)
    rows = await env.run(lambda: store.views_of(env.index, owner.user_id))
    return [_shown(env, caller, r) for r in rows]


async def get_view(env: ServiceEnv, caller: Caller, view_id: int) -> WallViewRow:
    owner = await _owner(env, caller)
    return _shown(env, caller, await _own_view(env, caller, owner, view_id, None))


async def create_view(env: ServiceEnv, caller: Caller, req: ViewRequest) -> WallViewRow:
    """A new view of the caller's (`req` checked by core.wall_views.make_view)."""
    owner = await _owner(env, caller)
    await _require_cameras(env, caller, req)

    def write() -> WallViewRow:
        with env.index.transaction() as c:
            if store.count_views_in(c, owner.user_id) >= MAX_VIEWS_PER_USER:
                raise ConflictError(f"you have {MAX_VIEWS_PER_USER} saved views already: delete one first")
            row = store.view_in(c, store.insert_view(c, owner.user_id, req, caller.now_ns))
            append_in(c, caller.now_ns, caller.actor, "view.create", f"view:{row.id}", "ok",
                      caller.audit_detail(_detail(row.name, row.layout, row.cameras)))
            return row

    return _shown(env, caller, await env.run(write))


async def update_view(env: ServiceEnv, caller: Caller, view_id: int, req: ViewRequest) -> WallViewRow:
    """Replace the caller's view's name, layout and cameras."""
    owner = await _owner(env, caller)
    await _own_view(env, caller, owner, view_id, "view.update")
    await _require_cameras(env, caller, req)

    def write() -> WallViewRow:
        with env.index.transaction() as c:
            row = store.update_view_in(c, view_id, req, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "view.update", f"view:{row.id}", "ok",
                      caller.audit_detail(_detail(row.name, row.layout, row.cameras)))
            return row

    return _shown(env, caller, await env.run(write))


async def delete_view(env: ServiceEnv, caller: Caller, view_id: int) -> WallViewRow:
    """Delete the caller's view; returns what it showed them."""
    owner = await _owner(env, caller)
    await _own_view(env, caller, owner, view_id, "view.delete")

    def write() -> WallViewRow:
        with env.index.transaction() as c:
            row = store.delete_view_in(c, view_id)
            append_in(c, caller.now_ns, caller.actor, "view.delete", f"view:{row.id}", "ok",
                      caller.audit_detail(_detail(row.name, row.layout, row.cameras)))
            return row

    return _shown(env, caller, await env.run(write))
