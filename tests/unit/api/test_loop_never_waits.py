"""No request makes the event loop wait on SQLite (issue 13): every route, called by each kind of
caller, does its index work on the database threads (services/env.py). An index call on the loop
waits on the index's lock, which recorder threads also take, and stalls every other request.

The spy records index calls made on the loop's thread while a request is served (the request's
task has store.index.SERVING_REQUEST set; the test's own setup calls do not)."""

from __future__ import annotations

import asyncio
import re
import traceback
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.support.api_harness import Api
from tests.support.index_rows import T0, record
from tests.support.plan_images import png_bytes
from vigil.api.routes import ROUTES
from vigil.core.incidents import DeclaredVia, IncidentState
from vigil.core.placements import PinKind, PlacementRequest, PlanRequest
from vigil.core.plan_image import inspect_plan_image
from vigil.core.wall_views import ViewRequest
from vigil.services import incidents
from vigil.services.caller import worker_caller
from vigil.store import plans as plans_store
from vigil.store.accounts import Accounts
from vigil.store.index import SERVING_REQUEST, Index
from vigil.store.rows import NewBookmark
from vigil.store.wall_views import insert_view

BODIES: dict[str, dict[str, object]] = {
    "/api/bookmarks": {"building": "hs", "start": "2026-01-01T08:00:00Z", "headline": "loop"},
    "/api/holds": {"buildings": ["hs"], "start": "2026-01-01T08:00:00Z", "end": "2026-01-01T09:00:00Z",
                   "reason": "loop"},
    "/api/holds/{hold_id}/release": {"reason": "loop"},
    "/api/links": {"buildings": ["hs"], "reason": "loop", "live": True},
    "/api/exports": {"cameras": ["hs-cam"], "start": "2026-01-01T08:00:00Z", "end": "2026-01-01T08:01:00Z",
                     "reason": "loop"},
    "/api/views": {"name": "loop", "layout": 4, "cameras": ["hs-cam"]},
    "/api/views/{view_id}": {"name": "loop again", "layout": 1, "cameras": ["hs-cam"]},
    "/api/users": {"name": "loop-user", "role": "viewer", "buildings": ["hs"], "password": "a long enough password"},
    "/api/users/{user_name}": {"role": "viewer", "buildings": ["ms"]},
    "/api/tokens": {"user": "installer", "label": "loop"},
    "/api/incidents": {"building": "hs", "reason": "loop"},
    "/api/incidents/{incident_id}/end": {"note": "loop"},
}


def _view_of(index: Index, caller: str) -> int:
    """A saved view of the caller's (the district admin's for an anonymous caller)."""
    owner = Accounts(index).find_user(caller) or Accounts(index).user("district")
    with index.transaction() as c:
        return insert_view(c, owner.id, ViewRequest(f"view {c.execute('SELECT random()').fetchone()[0]}", 1, ()), 0)


PLAN_PNG = png_bytes(64, 48)


def _plan_and_pin(index: Index) -> dict[str, str]:
    """A fresh plan of hs with its camera pinned (DELETE /api/plans/{plan_id} removes one each round)."""
    with index.transaction() as c:
        count = c.execute("SELECT count(*) FROM plans").fetchone()[0]
        plan = plans_store.insert_plan(c, PlanRequest("hs", f"f{count}", "loop", 0), inspect_plan_image(PLAN_PNG),
                                       "0" * 64, PLAN_PNG, "user:district", 0)
        pin = plans_store.upsert_placement(c, PlacementRequest(plan, PinKind.CAMERA, "hs-cam", 1, 1, 0, 90, 10),
                                           "user:district", 0)
    return {"plan_id": str(plan), "placement_id": str(pin)}


@pytest.fixture
def on_the_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    holding = Index._holding

    def spy(self: Index, wait_s: float | None, *, write: bool = True) -> AbstractContextManager[object]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return holding(self, wait_s, write=write)  # a database thread
        if SERVING_REQUEST.get():
            frames = [f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}"
                      for f in traceback.extract_stack() if "/vigil/" in f.filename]
            calls.append(" <- ".join(reversed(frames)))
        return holding(self, wait_s, write=write)

    monkeypatch.setattr(Index, "_holding", spy)
    yield calls


async def _open_incident(api: Api) -> str:
    """An open incident of building hs (a fresh one if a route ended the last)."""
    env, caller = api.services.env, worker_caller(api.clock.now_ns)
    open_now = await incidents.list_incidents(env, caller, IncidentState.OPEN)
    if open_now:
        return str(open_now[0].id)
    declared = await incidents.declare(env, caller, building="hs", cameras=[], reason="loop", via=DeclaredVia.API)
    return str(declared.incident.id)


def _new_token_id(index: Index) -> str:
    """An API token of the installer, for DELETE /api/tokens/{token_id} to revoke."""
    installer = Accounts(index).user("installer")
    Accounts(index).create_credential(installer.id, "api_token", "loop", 0, None)
    return str(index.query("SELECT MAX(id) FROM credentials")[0][0])


async def test_no_route_waits_on_sqlite_on_the_loop(api: Api, on_the_loop: list[str]) -> None:
    index = api.services.env.index
    record(index, "hs-cam", T0, [60, 60], "shutdown")
    statuses: dict[str, int] = {}
    for caller in ("district", "hs-admin", "hs-viewer", "anonymous"):
        for route in ROUTES:
            if route.content_type == "text/event-stream":
                continue  # the alert stream: long-lived, its own test (test_door_events_api)
            link = await api.client.post("/api/links", headers=api.auth("district"), json=BODIES["/api/links"])
            link_body = await link.json()
            values = {"camera_id": "hs-cam", "link_id": str(link_body["id"]), "session_id": "ended",
                      "export_id": "1", "event_id": "1", "segment_id": "1", "incident_id": "1",
                      "token": str(link_body["url"]).rsplit("/", 1)[1],
                      "bookmark_id": str(index.add_bookmark(NewBookmark("hs-cam", "hs", 0, 10, "x", f"user:{caller}"),
                                                            0)),
                      "hold_id": str(index.add_hold("hs-cam", 0, 10, "x", "user:district", 0)),
                      "view_id": str(_view_of(index, caller)),
                      "user_name": "loop-user", "token_id": _new_token_id(index),
                      "camera": "ms-cam", "building": "ms"}  # the configuration routes (issue 15; ms is spare)
            values |= _plan_and_pin(index)
            values["incident_id"] = await _open_incident(api)
            path = re.sub(r"{(\w+)}", lambda m, v=values: v[m.group(1)], route.path)  # type: ignore[misc]
            body = BODIES.get(route.path, {} if route.method == "POST" else None)
            headers = {} if caller == "anonymous" else api.auth(caller)
            if route.method == "PUT" and route.path == "/api/placements":
                body = {"plan": int(values["plan_id"]), "kind": "camera", "item": "hs-cam", "x": 5, "y": 5}
            if route.method == "POST" and route.path == "/api/plans":  # the body is the image
                response = await api.client.post(f"{path}?building=hs&floor=u{values['plan_id']}", data=PLAN_PNG,
                                                 headers=headers | {"Content-Type": "image/png"})
            else:
                response = await api.client.request(route.method, path, headers=headers, json=body)
            await response.read()
            statuses[f"{caller} {route.method} {route.path}"] = response.status
    assert any(s < 300 for s in statuses.values()) and any(s == 403 for s in statuses.values()), statuses
    assert on_the_loop == [], "\n".join(on_the_loop)
