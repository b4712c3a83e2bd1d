"""The hub calling a real appliance (TLS, simulated cameras) for its user with a hub token: the
district search (the hub's own door events plus the appliance's bookmarks, decided by the
appliance for that user; sites that do not answer listed) and an export pulled into the district
archive and verified against the evidence key the site enrolled with (a wrong key fails it)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.district import HUB_ID, enrol_test_hub
from tests.support.district_net import DistrictPki, hub_env
from tests.support.http_call import free_port
from tests.support.hub_harness import USER_HEADER, hub_server
from tests.support.webapp import WebApp, running_webapp
from vigil.core.district import SiteMessage, SiteTopic, hub_topic, message_bytes
from vigil.core.hub_permissions import HubUser
from vigil.core.permissions import Role
from vigil.core.timebase import wall_ns_to_iso
from vigil.exports.signing import load_signing_key, public_info, signing_key_path
from vigil.hub.env import HubEnv
from vigil.hub.events_api import EVENT_ROUTES
from vigil.hub.ingest import Ingest
from vigil.hub.pulls import run_pulls

pytestmark = pytest.mark.slow

USERS = {"dana": HubUser(1, "dana", Role.DISTRICT_ADMIN, ()),
         "vic": HubUser(2, "vic", Role.VIEWER, ("site-a/ms",))}


@dataclass
class Appliance:
    web: WebApp
    key: Ed25519PrivateKey
    data: Path
    started_ns: int


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Appliance]:
    tmp = tmp_path_factory.mktemp("site-a")
    with running_webapp(tmp) as web:
        key = enrol_test_hub(tmp / "data", "site-a")
        yield Appliance(web, key, tmp / "data", time.time_ns())


@dataclass
class Hub:
    env: HubEnv
    base: str
    http: aiohttp.ClientSession

    async def call(self, method: str, path: str, user: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, self.base + path, json=body, headers={USER_HEADER: user}) as r:
            return r.status, await r.json(content_type=None)


@pytest.fixture
async def hub(appliance: Appliance, tmp_path: Path) -> AsyncIterator[Hub]:
    env = hub_env(tmp_path / "hub", DistrictPki(tmp_path / "pki"), 1, hub_id=HUB_ID, token_key=appliance.key)
    # The hub pins the appliance's self-signed certificate as site-a's inventory tells it (no CA would
    # vouch for it); the certificate of the other sites is never heard of.
    pin = x509.load_pem_x509_certificate(appliance.web.ca.read_bytes()).fingerprint(hashes.SHA256()).hex()
    fingerprint = public_info(load_signing_key(signing_key_path(appliance.data)).public_key()).fingerprint
    now = time.time_ns()
    with env.db.transaction() as c:
        c.executemany("INSERT INTO sites (id, name, url, evidence_key, enrolled_wall_ns, bridge_up, inventory) VALUES"
                      " (?, ?, ?, ?, ?, ?, ?)",
                      [("site-a", "Lincoln", appliance.web.base, fingerprint, now, 1,
                        json.dumps({"https_sha256": pin})),
                       ("site-b", "Adams", f"https://127.0.0.1:{free_port()}", None, now, 1, None),  # nothing listens
                       ("site-c", "Grant", "https://127.0.0.1:1", None, now, 0, None)])  # its bridge is down
        for user in USERS.values():
            c.execute("INSERT INTO hub_users (id, name, role, scopes, password_hash, created_wall_ns)"
                      " VALUES (?, ?, ?, ?, 'x', ?)", (user.user_id, user.name, user.role.value,
                                                      json.dumps(list(user.scopes)), now))
    try:
        async with hub_server(env, EVENT_ROUTES, USERS) as base, aiohttp.ClientSession() as http:
            yield Hub(env, base, http)
    finally:
        env.db.close()
        env.close()


async def test_the_district_search_asks_each_site_for_its_user(appliance: Appliance, hub: Hub) -> None:
    now = time.time_ns()
    await asyncio.to_thread(appliance.web.json, "POST", "/api/bookmarks", {
        "camera": "hs-east", "start": wall_ns_to_iso(now - 5 * 10**9), "end": wall_ns_to_iso(now),
        "headline": "Broken window near the gym"})
    door = SiteMessage(SiteTopic.DOOR_EVENT, "site-a", "b", 1, now, {"door": "gym-door", "building": "hs",
                                                                        "kind": "door_forced_open"})
    await Ingest(hub.env).handle(hub_topic("site-a", SiteTopic.DOOR_EVENT), message_bytes(door))

    status, body = await hub.call("GET", "/api/search?q=gym", "dana")
    assert status == 200, body
    found = {(r["site"], r["kind"], r["headline"]) for r in body["results"]}
    assert found == {("site-a", "bookmark", "Broken window near the gym"),
                     ("site-a", "door_event", "Door forced open at gym-door (hs)")}
    assert body["unreachable"] == ["site-b", "site-c"]
    # the appliance decides for the user: vic sees the Middle School only, the bookmark is the High School's
    status, body = await hub.call("GET", "/api/search?q=gym", "vic")
    assert status == 200 and body["results"] == [] and body["unreachable"] == []
    tokens = await hub.env.run(lambda: hub.env.db.query(
        "SELECT actor, target FROM audit WHERE action = 'hub.token' ORDER BY id"))
    assert [tuple(t) for t in tokens] == [("hub_user:dana", "site:site-a"), ("hub_user:dana", "site:site-b"),
                                          ("hub_user:vic", "site:site-a")]


async def test_an_export_is_pulled_into_the_archive_and_verified(appliance: Appliance, hub: Hub) -> None:
    await asyncio.sleep(max(0.0, (appliance.started_ns + 25 * 10**9 - time.time_ns()) / 1e9))
    start = appliance.started_ns + 10**9
    created = await asyncio.to_thread(appliance.web.json, "POST", "/api/exports", {
        "cameras": ["hs-east"], "start": wall_ns_to_iso(start), "end": wall_ns_to_iso(start + 3 * 10**9),
        "reason": "district pull test"})
    status, body = await hub.call("POST", "/api/sites/site-a/pulls", "vic", {"export_id": created["id"]})
    assert status == 403  # a viewer may not pull
    status, body = await hub.call("POST", "/api/sites/site-a/pulls", "dana", {"export_id": created["id"]})
    assert status == 202 and body["pull"]["state"] == "pending", body
    worker = asyncio.create_task(run_pulls(hub.env))
    try:
        pull = await _finished(hub, body["pull"]["id"])
        assert pull["state"] == "verified", pull
        path = Path(pull["path"])
        data = await asyncio.to_thread(path.read_bytes)
        assert path.parent == hub.env.config.archive / "site-a" and len(data) == pull["bytes"]
        assert hashlib.sha256(data).hexdigest() == pull["sha256"]
        # the same export against another key: failed, naming why
        with hub.env.db.transaction() as c:
            other = public_info(Ed25519PrivateKey.generate().public_key()).fingerprint
            c.execute("UPDATE sites SET evidence_key = ? WHERE id = 'site-a'", (other,))
        status, body = await hub.call("POST", "/api/sites/site-a/pulls", "dana", {"export_id": created["id"]})
        pull = await _finished(hub, body["pull"]["id"])
        assert pull["state"] == "failed" and "verify:" in pull["error"] and "key" in pull["error"], pull
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    audit = await hub.env.run(lambda: hub.env.db.query(
        "SELECT actor, action, outcome FROM audit WHERE action LIKE 'hub.pull%' ORDER BY id"))
    assert [tuple(a) for a in audit] == [("hub_user:dana", "hub.pull.request", "ok"),
                                         ("hub_user:dana", "hub.pull", "ok"),
                                         ("hub_user:dana", "hub.pull.request", "ok"),
                                         ("hub_user:dana", "hub.pull", "failed")]


async def _finished(hub: Hub, pull_id: int) -> dict[str, Any]:
    async with asyncio.timeout(90):
        while True:
            status, body = await hub.call("GET", "/api/pulls", "dana")
            assert status == 200
            pull = next(p for p in body["pulls"] if p["id"] == pull_id)
            if pull["state"] != "pending":
                return dict(pull)
            await asyncio.sleep(0.3)


async def test_a_site_presenting_another_certificate_than_its_pin_is_not_asked(appliance: Appliance,
                                                                              hub: Hub) -> None:
    # site-a's inventory now names another certificate: the appliance answering at its URL is not it
    await hub.env.run(lambda: _set_pin(hub.env, "site-a", "00" * 32))
    status, body = await hub.call("GET", "/api/search?q=gym", "dana")
    assert status == 200, body
    assert "site-a" in body["unreachable"]
    assert not [r for r in body["results"] if r["kind"] == "bookmark"]


def _set_pin(env: HubEnv, site: str, pin: str) -> None:
    with env.db.transaction() as c:
        c.execute("UPDATE sites SET inventory = ? WHERE id = ?", (json.dumps({"https_sha256": pin}), site))
