"""The hub's app (build_app) with a real database and keys, its users signed in (sessions made
directly, not through the throttled sign-in): the `hub` fixture of the hub's unit tests."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vigil.core.permissions import Role
from vigil.hub.app import build_app
from vigil.hub.env import HubConfig, HubEnv
from vigil.hub.keys import ensure_hub_keys
from vigil.passwords import hash_password
from vigil.store import hub_accounts, hub_sites
from vigil.store.hub_db import open_hub_db

PASSWORD = "correct-horse-battery"
HASH = hash_password(PASSWORD)
SITES = ("s1", "s2")
# caller -> (role, scopes)
CALLERS: dict[str, tuple[Role, tuple[str, ...]]] = {
    "admin": (Role.DISTRICT_ADMIN, ()),
    "s1-admin": (Role.BUILDING_ADMIN, ("s1/hs",)),
    "s1-viewer": (Role.VIEWER, ("s1/hs",)),
    "disabled": (Role.DISTRICT_ADMIN, ()),  # disabled after signing in: its session ends with it
}


@dataclass
class Hub:
    client: TestClient  # type: ignore[type-arg]
    env: HubEnv
    sessions: dict[str, tuple[str, str]]  # caller -> (cookie token, csrf)


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    config = HubConfig(hub_id="district", name="Test District", data_dir=tmp_path / "hub",
                       public_url="https://hub.example:9443")
    now_ns = time.time_ns()
    keys = ensure_hub_keys(config, dt.datetime.now(dt.UTC))
    env = HubEnv(config, open_hub_db(config.db_path, now_ns), keys)
    sessions = {}
    with env.db.transaction() as c:
        for name, (role, scopes) in CALLERS.items():
            user = hub_accounts.insert_user(c, name, role, scopes, HASH, now_ns)
            sessions[name] = hub_accounts.insert_session(c, user.user_id, now_ns, now_ns + 3600 * 10**9)
        for site in SITES:
            hub_sites.enrol_site_in(c, site, f"Site {site}", f"https://{site}.example", "01", now_ns, None, now_ns)
        hub_accounts.disable_user_in(c, "disabled", now_ns)
    client = TestClient(TestServer(build_app(env)))
    await client.start_server()
    yield Hub(client, env, sessions)
    await client.close()
    env.close()
    env.db.close()


