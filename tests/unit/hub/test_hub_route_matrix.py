"""Every hub-core route x every kind of hub caller x two sites, against the real app (build_app)
with a real hub database and keys. The expected statuses come from the table below, not from
core.hub_permissions, so a wrong route declaration fails here. Unsafe methods without the
X-CSRF-Token header are refused (403) even for callers who may; without a session, 401."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.hub_app import CALLERS, SITES, Hub
from vigil.hub.http import HUB_SESSION_COOKIE, HubScope
from vigil.hub.routes import CORE_ROUTES, HUB_ROUTES

Key = tuple[str, str]  # (method, path template)
# What each signed-in route answers when allowed (with the bodies below).
OK: dict[Key, int] = {
    ("DELETE", "/api/session"): 200,
    ("GET", "/api/me"): 200,
    ("GET", "/api/sites"): 200,
    ("POST", "/api/sites/{site_id}/token"): 200,
    ("DELETE", "/api/sites/{site_id}"): 200,
    ("POST", "/api/enrol-codes"): 201,
}
BODIES: dict[Key, dict[str, Any]] = {
    ("POST", "/api/sites/{site_id}/token"): {"next": "/#/live/cam"},
    ("POST", "/api/enrol-codes"): {"site_id": "s3", "name": "Site three"},
}
EVERYONE = {("DELETE", "/api/session"), ("GET", "/api/me"), ("GET", "/api/sites")}
# caller -> (route, site or None) it may call
MAY: dict[str, set[tuple[Key, str | None]]] = {
    "admin": {(k, s) for k in OK for s in (SITES if "{site_id}" in k[1] else (None,))},
    "s1-admin": {(k, None) for k in EVERYONE} | {(("POST", "/api/sites/{site_id}/token"), "s1")},
    "s1-viewer": {(k, None) for k in EVERYONE} | {(("POST", "/api/sites/{site_id}/token"), "s1")},
    "disabled": set(),
}
# Routes without sign-in and what they answer to an empty request (never 401 for lack of a session).
PUBLIC: dict[Key, tuple[int, ...]] = {
    ("GET", "/"): (200, 404),  # 404 "hub page not built" until the web part builds it
    ("GET", "/hub/{name:.+}"): (404,),
    ("POST", "/api/session"): (400,),
    ("POST", "/api/enrol"): (401,),  # no Vigil-Enrol-Mac
    ("POST", "/api/site/tokens"): (401,),  # no client certificate
}


def _cases() -> list[tuple[str, Key, str | None, bool]]:
    cases = []
    for key in OK:
        for site in SITES if "{site_id}" in key[1] else (None,):
            for caller in [*CALLERS, "anonymous"]:
                for csrf in (True, False) if key[0] != "GET" else (True,):
                    cases.append((caller, key, site, csrf))
    return cases


def _expected(caller: str, key: Key, site: str | None, csrf: bool) -> int:
    if caller in ("anonymous", "disabled"):
        return 401
    if not csrf:
        return 403
    return OK[key] if (key, site) in MAY[caller] else 403


def test_the_table_covers_every_core_route() -> None:
    declared = {(r.method, r.path) for r in CORE_ROUTES}
    assert declared == set(OK) | set(PUBLIC)
    for route in CORE_ROUTES:
        assert (route.scope is HubScope.NONE) == ((route.method, route.path) in PUBLIC), route.path
        assert (route.scope is HubScope.SITE) == ("{site_id}" in route.path), route.path
    assert HUB_ROUTES[:len(CORE_ROUTES)] == CORE_ROUTES  # the rest are hub.events_api's, tested there


async def test_registered_routes_are_exactly_the_table(hub: Hub) -> None:
    registered = {(r.method, r.resource.canonical) for r in hub.client.app.router.routes()
                  if r.resource is not None and r.method != "HEAD"}
    assert {(r.method, r.path.replace("{name:.+}", "{name}")) for r in HUB_ROUTES} == registered


@pytest.mark.parametrize(("caller", "key", "site", "csrf"), _cases(),
                         ids=lambda v: v if isinstance(v, str) else "-".join(v) if isinstance(v, tuple) else str(v))
async def test_route_matrix(hub: Hub, caller: str, key: Key, site: str | None, csrf: bool) -> None:
    method, path = key
    headers = {}
    if caller != "anonymous":
        token, csrf_token = hub.sessions[caller]
        headers["Cookie"] = f"{HUB_SESSION_COOKIE}={token}"
        if csrf:
            headers["X-CSRF-Token"] = csrf_token
    url = path.replace("{site_id}", site or "")
    body = BODIES.get(key)
    r = await hub.client.request(method, url, json=body, headers=headers)
    expected = _expected(caller, key, site, csrf)
    assert r.status == expected, (caller, key, site, csrf, await r.text())
    if expected in (401, 403):
        assert r.headers["Content-Type"].startswith("application/problem+json")
    if expected == 403:
        denials = hub.env.db.query("SELECT actor, detail FROM audit WHERE action = 'hub.denied'")
        assert [row["actor"] for row in denials] == [f"hub_user:{caller}"]
        assert f"{method} {path}" in denials[0]["detail"]


@pytest.mark.parametrize("key", list(PUBLIC), ids="-".join)
async def test_public_routes_need_no_session(hub: Hub, key: Key) -> None:
    method, path = key
    r = await hub.client.request(method, path.replace("{name:.+}", "nothing.js"),
                                 json={} if method == "POST" else None)
    assert r.status in PUBLIC[key], await r.text()


async def test_responses_carry_the_security_headers(hub: Hub) -> None:
    r = await hub.client.get("/api/me")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store"
