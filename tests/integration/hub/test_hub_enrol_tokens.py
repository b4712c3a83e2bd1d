"""The hub as a real `vigil hub run` process on loopback: signing in, enrolment with a real CSR
and the code's HMAC (and every way it is refused), tokens an appliance verifies with the key from
its enrolment answer, renewal over mTLS with the site's certificate, revocation."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.hub_proc import (
    Enrolled,
    HubProcess,
    csr_for,
    enrol,
    enrol_request,
    sign_in,
)
from vigil.core.district import DistrictTokenError, TokenPolicy
from vigil.core.permissions import Role
from vigil.district.tokens import public_key_from_text, verify_token


@dataclass
class District:
    hub: HubProcess
    sites: dict[str, Enrolled]
    tmp: Path

    def audit(self, action: str) -> list[tuple[str, str, str, dict[str, object]]]:
        with sqlite3.connect(f"file:{self.hub.data / 'hub.sqlite3'}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT actor, target, outcome, detail FROM audit WHERE action = ? ORDER BY id",
                              (action,)).fetchall()
        return [(a, t, o, json.loads(d)) for a, t, o, d in rows]


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    tmp = tmp_path_factory.mktemp("hub")
    hub = HubProcess(tmp)
    hub.add_user("admin", "district_admin")
    hub.add_user("bob", "building_admin", "s1/hs")
    hub.add_user("vera", "viewer", "s2/ms")
    codes = {site: hub.enrol_code(site) for site in ("s1", "s2")}
    hub.start()
    try:
        sites = {site: enrol(hub, code, site, tmp / "sites", f"https://{site}.example:8443")
                 for site, code in codes.items()}
        yield District(hub, sites, tmp)
    finally:
        assert hub.stop() == 0, hub.log_path.read_text()
        assert "vigil_hs_" not in hub.log_path.read_text()  # no session token in the log


def _policy(site: str) -> TokenPolicy:
    return TokenPolicy(hub="district", site=site)


def test_signing_in_gives_a_session_cookie_and_csrf_token(district: District) -> None:
    hub = district.hub
    r = hub.call("/api/session", "POST", {"name": "admin", "password": "correct-horse-battery"})
    assert r.status == 200
    cookie = r.headers["Set-Cookie"]
    assert "vigil_hub_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert "SameSite=Strict" in cookie
    body = r.json()
    assert body["user"] == {"name": "admin", "role": "district_admin", "scopes": []}
    me = hub.call("/api/me", headers={"Cookie": cookie.split(";")[0]})
    assert me.status == 200
    assert me.json()["csrf_token"] == body["csrf_token"]
    assert me.json()["hub"] == {"id": "district", "name": "Test District"}
    assert hub.call("/api/me").status == 401
    assert r.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_wrong_password_is_refused_then_throttled(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path)
    hub.add_user("admin", "district_admin")
    hub.start()
    try:
        statuses = [hub.call("/api/session", "POST", {"name": "admin", "password": "wrong-password-1"}).status
                    for _ in range(6)]
        assert statuses[:4] == [401] * 4 and statuses[4:] == [429, 429], statuses
        # locked: even the right password is refused now
        assert hub.call("/api/session", "POST", {"name": "admin", "password": "correct-horse-battery"}).status == 429
    finally:
        hub.stop()
    with sqlite3.connect(hub.data / "hub.sqlite3") as db:
        outcomes = [o for (o,) in db.execute("SELECT outcome FROM audit WHERE action = 'hub.login' ORDER BY id")]
    assert outcomes == ["failed"] * 4 + ["locked"]


def test_enrolment_signs_the_csr_with_the_district_ca(district: District) -> None:
    site = district.sites["s1"]
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(district.hub.ca), "-purpose", "sslclient",
                               str(site.cert)], capture_output=True, text=True, check=False)
    assert verified.returncode == 0 and ": OK" in verified.stdout, verified.stdout + verified.stderr
    subject = subprocess.run(["openssl", "x509", "-in", str(site.cert), "-noout", "-subject", "-enddate"],
                             capture_output=True, text=True, check=True).stdout
    assert "CN = s1" in subject and "not-the-site-id" not in subject
    assert site.ca.read_text() == district.hub.ca.read_text()
    assert site.answer["hub_id"] == "district" and site.answer["site_id"] == "s1"
    assert site.answer["broker_port"] == district.hub.broker_port
    listed = sign_in(district.hub, "admin").call("/api/sites").json()["sites"]
    assert {s["id"]: s["url"] for s in listed} == {"s1": "https://s1.example:8443", "s2": "https://s2.example:8443"}
    assert all(s["reachability"] == "never_seen" for s in listed)


def _refusal(district: District, body: bytes, mac: str) -> str:
    r = district.hub.call("/api/enrol", "POST", body, {"Vigil-Enrol-Mac": mac})
    assert r.status == 403, r.body
    assert r.headers["Content-Type"].startswith("application/problem+json")
    return str(r.json()["detail"])


def test_a_replayed_enrolment_is_refused_and_audited(district: District) -> None:
    code = district.hub.enrol_code("s3")
    key = ec.generate_private_key(ec.SECP256R1())
    body, mac = enrol_request(code, "s3", csr_for(key, "s3"))
    assert district.hub.call("/api/enrol", "POST", body, {"Vigil-Enrol-Mac": mac}).status == 200
    assert "already used" in _refusal(district, body, mac)
    refused = [e for e in district.audit("hub.enrol") if e[2] == "denied"]
    assert any("already used" in str(e[3]["reason"]) and e[1] == "site:s3" for e in refused)


def test_a_wrong_mac_is_refused_and_leaves_the_code_usable(district: District, tmp_path: Path) -> None:
    code = district.hub.enrol_code("s4")
    key = ec.generate_private_key(ec.SECP256R1())
    body, mac = enrol_request(code, "s4", csr_for(key, "s4"))
    assert "wrong MAC" in _refusal(district, body, "0" * 64)
    tampered = body.replace(b"https://school.example:8443", b"https://evil.example:8443")
    assert "wrong MAC" in _refusal(district, tampered, mac)
    enrol(district.hub, code, "s4", tmp_path)


def test_an_expired_code_is_refused(district: District) -> None:
    code = district.hub.enrol_code("s5", "--hours", "0.0003")  # about a second
    time.sleep(1.5)
    body, mac = enrol_request(code, "s5", csr_for(ec.generate_private_key(ec.SECP256R1()), "s5"))
    assert "expired" in _refusal(district, body, mac)


def test_a_code_for_another_site_is_refused(district: District) -> None:
    code = district.hub.enrol_code("s6")
    body, mac = enrol_request(code, "s7", csr_for(ec.generate_private_key(ec.SECP256R1()), "s7"))
    assert "another site" in _refusal(district, body, mac)


def test_an_unknown_code_is_refused(district: District) -> None:
    body, mac = enrol_request("ZZZZ-AAAA-BBBB-CCCC-DDDD", "s8", csr_for(ec.generate_private_key(ec.SECP256R1()), "s8"))
    assert "unknown" in _refusal(district, body, mac)


def test_a_token_verifies_with_the_enrolled_key_for_its_site_only(district: District) -> None:
    admin = sign_in(district.hub, "admin")
    r = admin.call("/api/sites/s1/token", "POST", {"next": "/#/live/cam1"})
    assert r.status == 200, r.body
    body = r.json()
    key = public_key_from_text(district.sites["s1"].answer["token_public_key"])
    claims = verify_token(key, body["token"], _policy("s1"), time.time_ns())
    assert claims.user == "admin" and claims.role is Role.DISTRICT_ADMIN and claims.site == "s1"
    assert claims.expires_ns - claims.issued_ns == 300 * 10**9
    assert body["site_url"] == "https://s1.example:8443"
    assert body["signin_url"] == (f"https://s1.example:8443/#/district-signin?token={body['token']}"
                                  f"&next={quote('/#/live/cam1', safe='')}")
    with pytest.raises(DistrictTokenError, match="not this appliance"):
        verify_token(key, body["token"], _policy("s2"), time.time_ns())
    assert any(e[1] == "site:s1" and e[3]["token_id"] == claims.token_id for e in district.audit("hub.token"))
    assert body["token"] not in json.dumps(district.audit("hub.token"))


def test_a_building_admin_gets_tokens_for_its_buildings_only(district: District) -> None:
    bob = sign_in(district.hub, "bob")
    r = bob.call("/api/sites/s1/token", "POST", {})
    assert r.status == 200
    key = public_key_from_text(district.sites["s1"].answer["token_public_key"])
    claims = verify_token(key, r.json()["token"], _policy("s1"), time.time_ns())
    assert claims.role is Role.BUILDING_ADMIN and claims.buildings == ("hs",)
    assert bob.call("/api/sites/s2/token", "POST", {}).status == 403
    assert [s["id"] for s in bob.call("/api/sites").json()["sites"]] == ["s1"]
    assert bob.call("/api/sites/s1/token", "POST", {}, csrf=False).status == 403


def test_renewal_over_mtls_with_the_site_certificate(district: District) -> None:
    s1, s2 = district.sites["s1"], district.sites["s2"]
    r = district.hub.call("/api/site/tokens", "POST", {"user": "bob", "token_id": "old"}, cert=(s1.cert, s1.key))
    assert r.status == 200, r.body
    key = public_key_from_text(s1.answer["token_public_key"])
    claims = verify_token(key, r.json()["token"], _policy("s1"), time.time_ns())
    assert claims.user == "bob" and claims.buildings == ("hs",)
    assert district.hub.call("/api/site/tokens", "POST", {"user": "bob", "token_id": "old"}).status == 401
    # bob has no building at s2: s2's certificate gets no token for him
    assert district.hub.call("/api/site/tokens", "POST", {"user": "bob", "token_id": "old"},
                             cert=(s2.cert, s2.key)).status == 403
    assert district.hub.call("/api/site/tokens", "POST", {"user": "nobody", "token_id": "old"},
                             cert=(s1.cert, s1.key)).status == 403
    renewals = district.audit("hub.token.renew")
    assert ("site:s1", "hub_user:bob", "ok") in [e[:3] for e in renewals]
    assert ("site:s2", "hub_user:bob", "denied") in [e[:3] for e in renewals]


def test_a_disabled_user_gets_no_more_tokens(district: District) -> None:
    district.hub.add_user("dora", "viewer", "s1/hs")
    dora = sign_in(district.hub, "dora")
    assert dora.call("/api/sites/s1/token", "POST", {}).status == 200
    s1 = district.sites["s1"]
    renew = {"user": "dora", "token_id": "old"}
    assert district.hub.call("/api/site/tokens", "POST", renew, cert=(s1.cert, s1.key)).status == 200
    district.hub.cli("user", "disable", "dora")
    assert dora.call("/api/sites/s1/token", "POST", {}).status == 401
    assert district.hub.call("/api/site/tokens", "POST", renew, cert=(s1.cert, s1.key)).status == 403
    assert district.hub.call("/api/session", "POST", {"name": "dora", "password": "correct-horse-battery"}
                             ).status == 401


def test_a_removed_site_gets_no_tokens(district: District, tmp_path: Path) -> None:
    site = enrol(district.hub, district.hub.enrol_code("s9"), "s9", tmp_path)
    admin = sign_in(district.hub, "admin")
    assert admin.call("/api/sites/s9/token", "POST", {}).status == 200
    removed = admin.call("/api/sites/s9", "DELETE")
    assert removed.status == 200 and removed.json()["removed_at"] is not None
    assert admin.call("/api/sites/s9/token", "POST", {}).status == 409
    assert district.hub.call("/api/site/tokens", "POST", {"user": "admin", "token_id": "x"},
                             cert=(site.cert, site.key)).status == 403
    assert "s9" not in (district.hub.data / "broker" / "acl").read_text()
    listed = district.hub.cli("site", "list").stdout
    assert "s9" in listed and "removed" in listed
