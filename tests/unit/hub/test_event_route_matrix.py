"""hub.events_api's routes (events, stream, search, pulls) x every kind of hub caller x two sites,
against the real app (build_app) with a real hub database and keys, like test_hub_route_matrix.py
for hub-core's. Expected statuses come from the table below, not from core.hub_permissions."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vigil.core.permissions import Role
from vigil.hub import events_api
from vigil.hub.app import build_app
from vigil.hub.env import HubConfig, HubEnv
from vigil.hub.events_api import EVENT_ROUTES
from vigil.hub.http import HUB_SESSION_COOKIE, HubScope
from vigil.hub.keys import ensure_hub_keys
from vigil.hub.routes import HUB_ROUTES
from vigil.passwords import hash_password
from vigil.store import hub_accounts, hub_sites
from vigil.store.hub_db import open_hub_db

HASH = hash_password("correct-horse-battery")
SITES = ("s1", "s2")
CALLERS: dict[str, tuple[Role, tuple[str, ...]]] = {
    "admin": (Role.DISTRICT_ADMIN, ()),
    "s1-admin": (Role.BUILDING_ADMIN, ("s1/hs",)),
    "s1-viewer": (Role.VIEWER, ("s1/hs",)),
    "disabled": (Role.DISTRICT_ADMIN, ()),
}
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


@dataclass
class Hub:
    client: TestClient  # type: ignore[type-arg]
    env: HubEnv
    sessions: dict[str, tuple[str, str]]


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    config = HubConfig(hub_id="district", name="Test District", data_dir=tmp_path / "hub",
                       public_url="https://hub.example:9443")
    now_ns = time.time_ns()
    env = HubEnv(config, open_hub_db(config.db_path, now_ns), ensure_hub_keys(config, dt.datetime.now(dt.UTC)))
    sessions = {}
    with env.db.transaction() as c:
        for name, (role, scopes) in CALLERS.items():
            user = hub_accounts.insert_user(c, name, role, scopes, HASH, now_ns)
            sessions[name] = hub_accounts.insert_session(c, user.user_id, now_ns, now_ns + 3600 * 10**9)
        for site in SITES:
            hub_sites.enrol_site_in(c, site, f"Site {site}", f"https://{site}.example", "01", now_ns, None, now_ns)
        c.execute("UPDATE sites SET bridge_up = 0")  # the search asks no site (none is reachable here)
        hub_accounts.disable_user_in(c, "disabled", now_ns)
    client = TestClient(TestServer(build_app(env)))
    await client.start_server()
    yield Hub(client, env, sessions)
    await client.close()
    env.close()
    env.db.close()


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
