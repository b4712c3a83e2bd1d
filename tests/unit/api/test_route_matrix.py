"""Every route x every kind of caller x both buildings, generated from the route table.

Expected outcomes come from an explicit table of what each caller may do (below), not from
core.permissions, so a wrong route declaration fails here."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.support.api_harness import Api
from tests.support.plan_images import png_bytes
from vigil.api.openapi import template
from vigil.api.routes import ROUTES, Route, Scope
from vigil.config.edit import add_item, validated
from vigil.config.files import ConfigFile
from vigil.core.incidents import DeclaredVia
from vigil.core.permissions import FOOTAGE, Action
from vigil.core.placements import PinKind, PlacementRequest, PlanRequest
from vigil.core.plan_image import inspect_plan_image
from vigil.core.wall_views import ViewRequest
from vigil.services import incidents
from vigil.services.caller import worker_caller
from vigil.store import plans as plans_store
from vigil.store.accounts import Accounts
from vigil.store.rows import NewBookmark
from vigil.store.wall_views import insert_view

# caller -> actions it may perform in building "hs"; only "district" acts in "ms" too.
MAY: dict[str, set[Action]] = {
    "district": set(Action),
    "hs-admin": {Action.VIEW_STATUS, Action.VIEW_LIVE, Action.VIEW_PLAYBACK, Action.EXPORT,
                 Action.CONFIGURE_CAMERAS, Action.MANAGE_LINKS, Action.VIEW_DOOR_EVENTS, Action.ACK_DOOR_EVENTS,
                 Action.BOOKMARK, Action.HOLD_EVIDENCE, Action.DECLARE_INCIDENT, Action.TALK},
    "hs-viewer": {Action.VIEW_STATUS, Action.VIEW_LIVE, Action.VIEW_PLAYBACK, Action.VIEW_DOOR_EVENTS, Action.BOOKMARK},
    "installer": {Action.VIEW_STATUS, Action.CONFIGURE_CAMERAS},
    "hs-link": {Action.VIEW_STATUS, Action.VIEW_LIVE, Action.VIEW_PLAYBACK},
    "door-system": {Action.POST_DOOR_EVENTS},
}
CALLERS = [*MAY, "anonymous"]
PROTECTED = [r for r in ROUTES if r.scope is not Scope.PUBLIC]


def test_every_route_declares_a_policy() -> None:
    for route in ROUTES:
        if route.scope is Scope.PUBLIC:
            assert route.action is None and route.public_reason, route.path
        else:
            assert route.action is not None, f"{route.method} {route.path} declares no permission"
        if route.scope is not Scope.PUBLIC and ("{camera_id}" in route.path or route.action in FOOTAGE):
            # Footage is always checked against a camera (and so its building), never by role alone.
            # Exports name several cameras: their handlers check every one (tests/e2e/test_exports_e2e.py).
            in_handler_ok = route.path.startswith("/api/exports") and route.scope is Scope.PER_ITEM
            assert route.scope in (Scope.CAMERA, Scope.CAMERA_RANGE, Scope.CAMERA_MOMENT) or in_handler_ok, route.path


async def test_registered_routes_are_exactly_the_table(api: Api) -> None:
    registered = {(r.method, r.resource.canonical) for r in api.client.app.router.routes()
                  if r.method != "HEAD" and r.resource is not None}
    assert registered == {(r.method, template(r.path)) for r in ROUTES}


# The configuration routes (issue 15): creating/deleting buildings and reloading the whole file are
# for district admins and installers of every building; the rest per building.
EVERY_BUILDING = {("POST", "/api/config/buildings"), ("DELETE", "/api/config/buildings/{building}"),
                  ("POST", "/api/config/reload")}


# Incidents (issue 16): who sees an incident sees its building (or is its own link; the matrix's
# link is another one); to everyone else an incident is "not found", even where the role has the
# route's action. Declaring and ending need declare_incident, the link's viewers manage_links, the
# door events view_door_events (or being the incident's own link).
INCIDENT_ROUTES: dict[tuple[str, str], dict[str, str | int]] = {
    # (method, path): caller -> "ok" / 403 / 404 for an incident in building "hs"; in "ms" the
    # building-scoped callers' "ok" becomes 404 (403 for declaring: the body names the building)
    ("POST", "/api/incidents"): {"district": "ok", "hs-admin": "ok"},
    ("GET", "/api/incidents"): {"district": "ok", "hs-admin": "ok", "hs-viewer": "ok", "installer": "ok",
                                "hs-link": "ok"},
    ("GET", "/api/incidents/{incident_id}"): {"district": "ok", "hs-admin": "ok", "hs-viewer": "ok",
                                              "installer": "ok", "hs-link": 404},
    ("POST", "/api/incidents/{incident_id}/end"): {"district": "ok", "hs-admin": "ok"},
    ("GET", "/api/incidents/{incident_id}/activity"): {"district": "ok", "hs-admin": "ok"},
    ("GET", "/api/incidents/{incident_id}/door_events"): {"district": "ok", "hs-admin": "ok", "hs-viewer": "ok",
                                                          "installer": 403, "hs-link": 404},
    # the incident is open: its report is made when it ends (409) — for who may ask at all
    ("POST", "/api/incidents/{incident_id}/report"): {"district": 409, "hs-admin": 409},
}


# The district (issue 17): a status for everyone who may view status; renewing is only for sessions
# made from a hub token (the matrix's callers are local bearer tokens and links: 409, not 401/403).
DISTRICT_ROUTES: dict[tuple[str, str], int] = {
    ("GET", "/api/district"): 200,
    ("POST", "/api/district/renew"): 409,
}


def expected_incident(route: Route, caller: str, building: str) -> str | int:
    outcome = INCIDENT_ROUTES[(route.method, route.path)].get(caller, 403)
    if outcome in ("ok", 409) and building == "ms" and caller not in ("district", "installer"):
        if route.path == "/api/incidents":
            return 403 if route.method == "POST" else "ok"
        return 404
    return outcome


async def _incident_ids(api: Api, building: str) -> dict[str, str]:
    """A fresh open incident of the building (ending the one open there, if any)."""
    env, now = api.services.env, api.clock.now_ns
    for row in await incidents.list_incidents(env, worker_caller(now), None):
        if row.building_id == building and row.ended_wall_ns is None:
            await incidents.end(env, worker_caller(now), row.id, "matrix: next caller")
    declared = await incidents.declare(env, worker_caller(now), building=building, cameras=[], reason="matrix",
                                       via=DeclaredVia.API)
    assert not declared.joined
    return {"incident_id": str(declared.incident.id)}


def expected_allowed(route: Route, caller: str, building: str) -> bool:
    assert route.action is not None
    if route.path.startswith("/api/config/"):
        if route.action not in MAY[caller]:
            return False
        if caller in ("district", "installer"):
            return True
        return (route.method, route.path) not in EVERY_BUILDING and (route.method == "GET" or building == "hs")
    if route.path.startswith("/api/views"):
        # Saved live walls are a user's own: a role that watches live video, never a responder link;
        # saving one names cameras, so the building's.
        if Action.VIEW_LIVE not in MAY[caller] or caller.endswith("-link"):
            return False
        return caller == "district" or route.method not in ("POST", "PUT") or building == "hs"
    if route.action not in MAY[caller]:
        return False
    names_a_building = "{camera_id}" in route.path or (route.method in ("POST", "DELETE") and "links" in route.path)
    names_a_building |= route.method in ("POST", "DELETE") and route.path.startswith(("/api/bookmarks", "/api/holds"))
    names_a_building |= route.method == "POST" and route.path == "/api/exports"  # body names the building
    # plans and pins (issue 14): every change names a building (query, body or the stored plan/pin), and
    # so does reading one plan's image
    names_a_building |= route.method != "GET" and route.path.startswith(("/api/plans", "/api/placements"))
    names_a_building |= route.path == "/api/plans/{plan_id}/image"
    names_a_building |= route.path.startswith("/api/incidents/{incident_id}")  # the stored incident's building
    if caller == "installer" and route.action is Action.CONFIGURE_CAMERAS:
        return True  # an installer with no buildings assigned configures every building
    if caller == "installer" and route.path == "/api/plans/{plan_id}/image":
        return True  # ... and so sees every building's plans
    return caller == "district" or not names_a_building or building == "hs"


async def _new_link(api: Api, building: str) -> tuple[int, str]:
    response = await api.client.post("/api/links", headers=api.auth("district"), json={
        "buildings": [building], "reason": "matrix", "live": True, "playback": True})
    assert response.status == 201
    body = await response.json()
    return int(body["id"]), str(body["url"]).rsplit("/", 1)[1]


# Bookmarks and evidence holds (issue 7): what the POST routes get, and the ids the others name.
EVIDENCE_BODIES: dict[str, Callable[[str], dict[str, object] | None]] = {
    "/api/bookmarks": lambda b: {"building": b, "start": "2026-01-01T08:00:00Z", "headline": "matrix"},
    "/api/holds": lambda b: {"buildings": [b], "start": "2026-01-01T08:00:00Z", "end": "2026-01-01T09:00:00Z",
                             "reason": "matrix"},
    "/api/holds/{hold_id}/release": lambda b: {"reason": "matrix"},
    "/api/views": lambda b: {"name": f"matrix {b}", "layout": 4, "cameras": [None, f"{b}-cam"]},
    "/api/views/{view_id}": lambda b: {"name": f"renamed {b}", "layout": 1, "cameras": [f"{b}-cam"]},
    "/api/config/cameras": lambda b: {"id": f"new-{b}", "building": b, "name": "matrix", "url": "rtsp://192.168.10.9/m"},
    "/api/config/cameras/{camera}": lambda b: {"name": f"renamed {b}"},
    "/api/config/buildings": lambda b: {"id": f"new-{b}", "name": "matrix"},
    "/api/config/buildings/{building}": lambda b: {"name": f"renamed {b}"},
    # camera setup (issue 15): configure_cameras, about no building; bodies refused (400) once allowed, so
    # that no discovery waits and no packet leaves
    "/api/setup/discover": lambda b: {"timeout_s": 0},
    "/api/setup/scan": lambda b: {"range": "matrix"},
    "/api/setup/probe": lambda b: {},
    "/api/incidents": lambda b: {"building": b, "reason": "matrix", "drill": True},
    "/api/incidents/{incident_id}/end": lambda b: {"note": "matrix"},
}


def _config_ids(api: Api, building: str) -> dict[str, str]:
    """A fresh camera of the building in the configuration file (DELETE /api/config/cameras/{camera}
    removes one), and the building itself."""
    env = api.services.env
    file = ConfigFile(env.config.source)
    camera = f"{building}-m{len(env.config.cameras)}"
    edit = add_item(file.read(), "cameras", {"id": camera, "building": building, "url": "rtsp://127.0.0.1:1/m"})
    file.replace(edit.text)
    env.live.swap(validated(edit, file.path))  # as a reload would (no pipelines here)
    return {"camera": camera, "building": building}


def _evidence_ids(api: Api, caller: str, building: str) -> dict[str, str]:
    """A bookmark made by the caller (creators may delete their own) and a hold, in the building."""
    index, camera = api.services.env.index, f"{building}-cam"
    bookmark = index.add_bookmark(NewBookmark(camera, building, 0, 10, "matrix", f"user:{caller}"), 0)
    hold = index.add_hold(camera, 0, 10, "matrix", "user:district", 0)
    # a saved view of the caller's (a district admin's for callers who are no user) showing the building's camera
    owner = Accounts(index).find_user(caller) or Accounts(index).user("district")
    with index.transaction() as c:
        view = insert_view(c, owner.id, ViewRequest(f"{caller} {building}", 1, (camera,)), 0)
    return {"bookmark_id": str(bookmark), "hold_id": str(hold), "view_id": str(view)}


_PLAN_PNG = png_bytes(64, 48)


def _plan_ids(api: Api, building: str) -> dict[str, str]:
    """A fresh plan of the building (DELETE /api/plans/{plan_id} removes it) with its camera pinned."""
    index, info = api.services.env.index, inspect_plan_image(_PLAN_PNG)
    with index.transaction() as c:
        count = c.execute("SELECT count(*) FROM plans").fetchone()[0]
        floor = f"m{count}"
        plan = plans_store.insert_plan(c, PlanRequest(building, floor, "matrix", 0), info, "0" * 64, _PLAN_PNG,
                                       "user:district", 0)
        pin = plans_store.upsert_placement(c, PlacementRequest(plan, PinKind.CAMERA, f"{building}-cam", 1, 1, 0,
                                                               90, 10), "user:district", 0)
    return {"plan_id": str(plan), "placement_id": str(pin)}


@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: f"{r.method} {r.path}")
async def test_route_matrix(api: Api, route: Route) -> None:
    _, api.tokens["hs-link"] = await _new_link(api, "hs")
    for caller in CALLERS:
        for building in ("hs", "ms"):
            link_id, _ = await _new_link(api, building)  # what DELETE /api/links/{link_id} revokes
            values = {"camera_id": f"{building}-cam", "link_id": str(link_id), "session_id": "ended",
                      "export_id": "999999", "segment_id": "1",
                      "event_id": "999",
                      # users and API tokens: no such user or token (a real one would be disabled or
                      # revoked by the district admin's turn, and the next callers' answers would be 401)
                      "user_name": "nobody", "token_id": "999999"}
            values |= _evidence_ids(api, caller, building)
            values |= _plan_ids(api, building)
            values |= _config_ids(api, building)
            values |= await _incident_ids(api, building)
            path = re.sub(r"{(\w+)}", lambda m, v=values: v[m.group(1)], route.path)  # type: ignore[misc]
            body = {"buildings": [building], "reason": "matrix"} if route.method == "POST" else None
            sent = EVIDENCE_BODIES[route.path](building) if route.path in EVIDENCE_BODIES else body
            if route.method in ("GET", "DELETE"):
                sent = None
            headers = {} if caller == "anonymous" else api.auth(caller)
            if route.path == "/api/placements" and route.method == "PUT":
                sent = {"plan": int(values["plan_id"]), "kind": "camera", "item": f"{building}-cam", "x": 5, "y": 5}
            if route.path == "/api/plans" and route.method == "POST":  # the body is the image
                response = await api.client.post(f"{path}?building={building}&floor=u{values['plan_id']}",
                                                 headers=headers | {"Content-Type": "image/png"}, data=_PLAN_PNG)
            else:
                response = await api.client.request(route.method, path, headers=headers, json=sent)
            streaming = route.content_type == "text/event-stream" and response.status == 200
            binary = route.content_type.startswith("image/") and response.status == 200
            text = "(a stream)" if streaming else "(an image)" if binary else await response.text()
            response.close()
            where = f"{caller} {route.method} {path} -> {response.status} {text}"
            if caller == "anonymous":
                assert response.status == 401, where
            elif (route.method, route.path) in DISTRICT_ROUTES:
                may = Action.VIEW_STATUS in MAY[caller]
                assert response.status == (DISTRICT_ROUTES[(route.method, route.path)] if may else 403), where
            elif (route.method, route.path) in INCIDENT_ROUTES:
                expected = expected_incident(route, caller, building)
                if expected == "ok":
                    assert response.status in (200, 201), where
                else:
                    assert response.status == expected, where
            elif expected_allowed(route, caller, building):
                assert response.status not in (401, 403) and response.status < 500, where
            else:
                assert response.status == 403, where
                assert (await response.json())["title"] == "Forbidden"


async def test_denials_are_audited(api: Api) -> None:
    response = await api.client.get("/api/cameras/ms-cam/segments", headers=api.auth("hs-viewer"))
    assert response.status == 403
    entries = api.services.env.audit.entries(actor="user:hs-viewer")
    assert [(e.action, e.target, e.outcome) for e in entries] == [("view_playback", "camera:ms-cam", "denied")]


async def test_listings_show_only_what_the_caller_may_see(api: Api) -> None:
    for caller, buildings in (("district", ["hs", "ms"]), ("hs-admin", ["hs"]), ("hs-viewer", ["hs"]),
                              ("installer", ["hs", "ms"])):
        listed = await (await api.client.get("/api/buildings", headers=api.auth(caller))).json()
        assert [b["id"] for b in listed] == buildings, caller
        cams = await (await api.client.get("/api/cameras", headers=api.auth(caller))).json()
        assert [c["building"] for c in cams] == buildings, caller
