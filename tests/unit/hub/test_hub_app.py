"""The hub-core use cases through build_app (a real database and keys): signing out, enrolment
codes' checks, token requests' edge cases, the bound on refused enrolments per address."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.hub_app import Hub
from tests.support.hub_proc import csr_for
from vigil.core.district import ENROL_ANSWER, ENROL_REQUEST, EnrolCode, enrol_mac, enrol_mac_ok
from vigil.core.errors import PermissionDeniedError
from vigil.hub.http import HUB_SESSION_COOKIE
from vigil.hub.site_tokens import issue_token
from vigil.hub.sites import create_enrol_code
from vigil.store import hub_accounts, hub_sites


def _headers(hub: Hub, caller: str) -> dict[str, str]:
    token, csrf = hub.sessions[caller]
    return {"Cookie": f"{HUB_SESSION_COOKIE}={token}", "X-CSRF-Token": csrf}


async def test_signing_out_ends_the_session(hub: Hub) -> None:
    headers = _headers(hub, "admin")
    assert (await hub.client.get("/api/me", headers=headers)).status == 200
    r = await hub.client.delete("/api/session", headers=headers)
    assert r.status == 200 and "vigil_hub_session=\"\"" in r.headers["Set-Cookie"]
    assert (await hub.client.get("/api/me", headers=headers)).status == 401


async def test_enrolment_codes_are_refused_for_enrolled_sites_and_the_hubs_own_name(hub: Hub) -> None:
    headers = _headers(hub, "admin")
    r = await hub.client.post("/api/enrol-codes", json={"site_id": "s1", "name": "again"}, headers=headers)
    assert r.status == 409, await r.text()
    r = await hub.client.post("/api/enrol-codes", json={"site_id": "hub", "name": "the hub"}, headers=headers)
    assert r.status == 400 and "hub's own name" in (await r.json())["detail"]
    r = await hub.client.post("/api/enrol-codes", json={"site_id": "S 3", "name": "x"}, headers=headers)
    assert r.status == 400
    r = await hub.client.post("/api/enrol-codes", json={"site_id": "s3", "name": "Three"}, headers=headers)
    assert r.status == 201
    body = await r.json()
    entries = hub.env.db.query("SELECT detail FROM audit WHERE action = 'hub.enrol_code'")
    secret = body["code"].split("-", 1)[1]
    assert len(entries) == 1 and secret not in entries[0]["detail"]  # the id is audited, the secret never


async def test_a_token_request_names_a_path_to_go_next(hub: Hub) -> None:
    headers = _headers(hub, "admin")
    for bad in ("https://evil.example/", "//evil.example/", 5):
        r = await hub.client.post("/api/sites/s1/token", json={"next": bad}, headers=headers)
        assert r.status == 400, bad
    r = await hub.client.post("/api/sites/s1/token", headers=headers)  # no body: the site's home
    assert r.status == 200 and (await r.json())["signin_url"].endswith("&next=%2F%23%2F")
    assert (await hub.client.post("/api/sites/nowhere/token", json={}, headers=headers)).status == 404


async def test_a_site_without_a_url_gets_no_sign_in_link(hub: Hub) -> None:
    with hub.env.db.transaction() as c:
        c.execute("UPDATE sites SET url = NULL WHERE id = 's2'")
    r = await hub.client.post("/api/sites/s2/token", json={}, headers=_headers(hub, "admin"))
    assert r.status == 409 and "no URL" in (await r.json())["detail"]


async def test_a_user_disabled_meanwhile_gets_no_token(hub: Hub) -> None:
    found = hub_accounts.find_user(hub.env.db, "s1-viewer")
    assert found is not None
    issue_token(hub.env, found.user, "s1", hub.env.clock_ns())
    with hub.env.db.transaction() as c:
        hub_accounts.disable_user_in(c, "s1-viewer", hub.env.clock_ns())
    with pytest.raises(PermissionDeniedError, match="disabled"):
        issue_token(hub.env, found.user, "s1", hub.env.clock_ns())  # the caller's copy still says enabled


async def test_refused_enrolments_are_bounded_per_address(hub: Hub) -> None:
    code = EnrolCode("ZZZZ", "AAAA-BBBB-CCCC-DDDD")
    body = json.dumps({"code_id": code.code_id, "site_id": "s9"}).encode()
    headers = {"Content-Type": "application/json", "Vigil-Enrol-Mac": enrol_mac(code, ENROL_REQUEST, body)}
    statuses = [(await hub.client.post("/api/enrol", data=body, headers=headers)).status for _ in range(21)]
    assert statuses == [403] * 20 + [429]
    audited = hub.env.db.query("SELECT COUNT(*) FROM audit WHERE action = 'hub.enrol'")[0][0]
    assert audited == 20


async def test_an_enrolment_without_site_id_enrols_the_codes_site(hub: Hub) -> None:
    made = create_enrol_code(hub.env, "cli:test", "s7", "Site seven", hub.env.clock_ns())
    body = json.dumps({"code_id": made.code.code_id, "csr_pem": csr_for(ec.generate_private_key(ec.SECP256R1()), "x"),
                       "url": "https://s7.example", "evidence_key": None}).encode()
    r = await hub.client.post("/api/enrol", data=body, headers={
        "Content-Type": "application/json", "Vigil-Enrol-Mac": enrol_mac(made.code, ENROL_REQUEST, body)})
    assert r.status == 200, await r.text()
    answer = await r.read()
    assert enrol_mac_ok(made.code, ENROL_ANSWER, answer, r.headers["Vigil-Enrol-Mac"])
    assert json.loads(answer)["site_id"] == "s7"
    assert "s7" in hub_sites.active_site_ids(hub.env.db)


async def test_a_second_code_for_an_enrolled_site_does_not_replace_it(hub: Hub) -> None:
    first, second = (create_enrol_code(hub.env, "cli:test", "s8", "Site eight", hub.env.clock_ns()) for _ in "12")
    statuses = []
    for made in (first, second):
        body = json.dumps({"code_id": made.code.code_id, "site_id": "s8", "url": "https://s8.example",
                           "csr_pem": csr_for(ec.generate_private_key(ec.SECP256R1()), "s8")}).encode()
        r = await hub.client.post("/api/enrol", data=body, headers={
            "Content-Type": "application/json", "Vigil-Enrol-Mac": enrol_mac(made.code, ENROL_REQUEST, body)})
        statuses.append((r.status, (await r.json()).get("detail")))
    assert statuses[0] == (200, None)
    assert statuses[1][0] == 403 and "enrolled already" in statuses[1][1]
    serial = hub_sites.get_site(hub.env.db, "s8")
    audited = hub.env.db.query("SELECT detail FROM audit WHERE action = 'hub.enrol' AND outcome = 'ok'")
    assert serial is not None and [json.loads(a["detail"])["cert_serial"] for a in audited] == [serial.cert_serial]
