"""hub.events_api's routes (events, stream, search, pulls) x every kind of hub caller x two sites,
against the real app (build_app) with a real hub database and keys, like test_hub_route_matrix.py
for hub-core's. Expected statuses come from the table below, not from core.hub_permissions."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.support.hub_app import CALLERS, SITES, Hub
from vigil.hub import events_api
from vigil.hub.events_api import EVENT_ROUTES
from vigil.hub.http import HUB_SESSION_COOKIE, HubScope
from vigil.hub.routes import HUB_ROUTES
from vigil.store import hub_accounts

Key = tuple[str, str]
OK: dict[Key, int] = {
    ("GET", "/api/events"): 200,
    ("GET", "/api/events/stream"): 200,
    ("GET", "/api/search"): 200,
    ("POST", "/api/sites/{site_id}/pulls"): 202,
    ("GET", "/api/pulls"): 200,
}
QUERIES: dict[Key, str] = {("GET", "/api/search"): "?q=window"}
BODIES: dict[Key, dict[str, Any]] = {("POST", "/api/sites/{site_id}/pulls"): {"export_id": 7}}
EVERYONE = {k for k in OK if "{site_id}" not in k[1]}
MAY: dict[str, set[tuple[Key, str | None]]] = {
    "admin": {(k, None) for k in EVERYONE} | {(("POST", "/api/sites/{site_id}/pulls"), s) for s in SITES},
    "s1-admin": {(k, None) for k in EVERYONE} | {(("POST", "/api/sites/{site_id}/pulls"), "s1")},
    "s1-viewer": {(k, None) for k in EVERYONE},
    "disabled": set(),
}


@pytest.fixture
async def hub(hub: Hub) -> Hub:
    """The hub unit tests' app (tests/support/hub_app.py) with no site reachable: the search asks none."""
    with hub.env.db.transaction() as c:
        c.execute("UPDATE sites SET bridge_up = 0")
    return hub


def _cases() -> list[tuple[str, Key, str | None, bool]]:
    return [(caller, key, site, csrf) for key in OK for site in (SITES if "{site_id}" in key[1] else (None,))
            for caller in [*CALLERS, "anonymous"] for csrf in ((True, False) if key[0] != "GET" else (True,))]


def test_the_table_covers_every_event_route() -> None:
    assert {(r.method, r.path) for r in EVENT_ROUTES} == set(OK)
    for route in EVENT_ROUTES:
        assert route.scope is (HubScope.SITE if "{site_id}" in route.path else HubScope.DISTRICT), route.path
    assert HUB_ROUTES[-len(EVENT_ROUTES):] == EVENT_ROUTES  # hub/routes.py serves them


@pytest.mark.parametrize(("caller", "key", "site", "csrf"), _cases(),
                         ids=lambda v: v if isinstance(v, str) else "-".join(v) if isinstance(v, tuple) else str(v))
async def test_event_route_matrix(hub: Hub, caller: str, key: Key, site: str | None, csrf: bool) -> None:
    method, path = key
    headers = {}
    if caller != "anonymous":
        token, csrf_token = hub.sessions[caller]
        headers["Cookie"] = f"{HUB_SESSION_COOKIE}={token}"
        if csrf:
            headers["X-CSRF-Token"] = csrf_token
    url = path.replace("{site_id}", site or "") + QUERIES.get(key, "")
    r = await hub.client.request(method, url, json=BODIES.get(key), headers=headers)
    expected = 401 if caller in ("anonymous", "disabled") else 403 if not csrf else (
        OK[key] if (key, site) in MAY[caller] else 403)
    assert r.status == expected, (caller, key, site, csrf)
    if expected in (401, 403):
        assert r.headers["Content-Type"].startswith("application/problem+json")
    elif path == "/api/events/stream":
        assert r.headers["Content-Type"] == "text/event-stream"
        assert await r.content.readline() == b": connected\n"
    r.close()
    if expected == 202:
        pulls = hub.env.db.query("SELECT site_id, export_id, requested_by, state FROM pulls")
        assert [tuple(p) for p in pulls] == [(site, 7, caller, "pending")]


async def test_a_stream_ends_with_its_session(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_api, "HEARTBEAT_S", 0.2)
    token, _ = hub.sessions["s1-viewer"]
    r = await hub.client.get("/api/events/stream", headers={"Cookie": f"{HUB_SESSION_COOKIE}={token}"})
    assert r.status == 200 and await r.content.readline() == b": connected\n"
    assert await r.content.readline() == b"\n"
    assert await r.content.readline() == b": keepalive\n"  # still signed in
    with hub.env.db.transaction() as c:
        hub_accounts.revoke_session_in(c, token, time.time_ns())  # signed out elsewhere
    async with asyncio.timeout(5):
        rest = await r.content.read()
    assert rest.endswith(b"event: ended\ndata: {}\n\n")
    assert not hub.env.message_listeners
