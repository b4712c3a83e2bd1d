"""Responder links (scope, expiry, revocation, use count, audit) and browser sessions (cookie,
CSRF, throttling)."""

from __future__ import annotations

import logging

import pytest

from tests.support.api_harness import PASSWORD, Api

HOUR_NS = 3600 * 10**9


async def _link(api: Api, **body: object) -> dict[str, object]:
    response = await api.client.post("/api/links", headers=api.auth("hs-admin"),
                                     json={"reason": "incident 2026-0412"} | body)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def test_link_works_in_scope_403_outside_401_after_expiry_and_revocation(api: Api) -> None:
    link = await _link(api, cameras=["hs-cam"], expires_in="2h", playback=True)
    token = str(link["url"]).rsplit("/", 1)[1]
    assert token.startswith("vigil_l_")
    bearer = {"Authorization": f"Bearer {token}"}
    ok = await api.client.get("/api/cameras/hs-cam/segments", headers=bearer)
    assert ok.status == 200
    outside = await api.client.get("/api/cameras/ms-cam/segments", headers=bearer)
    assert outside.status == 403
    export_like = await api.client.get("/api/audit", headers=bearer)
    assert export_like.status == 403
    listed = await (await api.client.get("/api/cameras", headers=bearer)).json()
    assert [c["id"] for c in listed] == ["hs-cam"]
    # Expiry.
    api.clock.now_ns += 2 * HOUR_NS + 1
    expired = await api.client.get("/api/cameras/hs-cam/segments", headers=bearer)
    assert expired.status == 401 and "not valid" in (await expired.json())["detail"]
    api.clock.now_ns -= 2 * HOUR_NS + 1
    # Revocation takes effect at once.
    revoked = await api.client.delete(f"/api/links/{link['id']}", headers=api.auth("hs-admin"))
    assert revoked.status == 200 and (await revoked.json())["state"] == "revoked"
    after = await api.client.get("/api/cameras", headers=bearer)
    assert after.status == 401
    row = api.services.env.accounts.link(int(str(link["id"])))
    assert row.use_count == 4  # every successful authentication counted
    uses = [e for e in api.services.env.audit.entries(actor=f"link:{link['id']}")]
    assert {e.outcome for e in uses} == {"ok", "denied"} and len(uses) >= 4


async def test_link_creation_validates_and_is_scoped_to_the_creator(api: Api) -> None:
    headers = api.auth("hs-admin")
    for body, message in (
        ({"cameras": ["hs-cam"]}, "reason"),
        ({"cameras": ["hs-cam"], "reason": "   "}, "reason"),
        ({"reason": "x"}, "at least one camera or building"),
        ({"cameras": ["nope"], "reason": "x"}, "unknown ids"),
        ({"cameras": ["hs-cam"], "reason": "x", "expires_in": "100h"}, "at most 72"),
        ({"cameras": ["hs-cam"], "reason": "x", "expires_in": "soon"}, "not a duration"),
        ({"cameras": ["hs-cam"], "reason": "x", "live": False}, "at least one true"),
        ({"cameras": ["hs-cam"], "reason": "x", "playback_start": "2026-01-01T00:00:00Z"}, "needs playback"),
    ):
        response = await api.client.post("/api/links", headers=headers, json=body)
        assert response.status == 400, body
        assert message in (await response.json())["detail"], body
    foreign = await api.client.post("/api/links", headers=headers, json={"cameras": ["ms-cam"], "reason": "x"})
    assert foreign.status == 403
    default = await _link(api, buildings=["hs"])
    assert default["state"] == "active" and default["live"] is True and default["playback"] is False


async def test_landing_page_sets_cookie_and_token_never_logged(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    link = await _link(api, buildings=["hs"])
    token = str(link["url"]).rsplit("/", 1)[1]
    caplog.set_level(logging.DEBUG)
    page = await api.client.get(f"/l/{token}", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/#/map/hs"  # its building's map; token out of the URL
    assert page.headers["Cache-Control"] == "no-store"
    cookie = page.headers["Set-Cookie"]
    assert "vigil_link=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    with_cookie = await api.client.get("/api/me")
    assert with_cookie.status == 200 and (await with_cookie.json())["kind"] == "link"
    cams = await (await api.client.get("/api/cameras")).json()
    assert [c["id"] for c in cams] == ["hs-cam"]
    bad = await api.client.get("/l/vigil_l_forged")
    assert bad.status == 401 and bad.content_type == "text/html"  # a phone shows a page, not a JSON problem
    assert "This link does not open" in await bad.text() and "expired, revoked or unknown" in await bad.text()
    assert "default-src 'self'" in bad.headers["Content-Security-Policy"] and "vigil_link" not in bad.headers.get(
        "Set-Cookie", "")
    not_a_link = await api.client.get(f"/l/{api.tokens['district']}")
    assert not_a_link.status == 401 and "not a responder link" in await not_a_link.text()
    assert token not in caplog.text
    for entry in api.services.env.audit.entries():
        assert token not in str(entry.detail) and token not in entry.target


async def test_session_login_csrf_logout(api: Api) -> None:
    login = await api.client.post("/api/login", json={"name": "hs-admin", "password": PASSWORD})
    assert login.status == 200
    body = await login.json()
    cookie = login.headers["Set-Cookie"]
    assert "vigil_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert (await api.client.get("/api/me")).status == 200
    no_csrf = await api.client.post("/api/links", json={"buildings": ["hs"], "reason": "x"})
    assert no_csrf.status == 403 and "CSRF" in (await no_csrf.json())["detail"]
    with_csrf = await api.client.post("/api/links", json={"buildings": ["hs"], "reason": "x"},
                                      headers={"X-CSRF-Token": body["csrf_token"]})
    assert with_csrf.status == 201
    out = await api.client.post("/api/logout", headers={"X-CSRF-Token": body["csrf_token"]})
    assert out.status == 200
    api.client.session.cookie_jar.update_cookies({"vigil_session": login.cookies["vigil_session"].value})
    assert (await api.client.get("/api/me")).status == 401  # the old session cookie is dead


async def test_failed_logins_are_generic_throttled_and_audited(api: Api) -> None:
    for name in ("hs-admin", "nobody"):
        response = await api.client.post("/api/login", json={"name": name, "password": "wrong password"})
        assert response.status == 401
        assert (await response.json())["detail"] == "invalid name or password"
    for _ in range(3):  # five failures from this address lock it (and the account)
        await api.client.post("/api/login", json={"name": "hs-admin", "password": "wrong password"})
    locked = await api.client.post("/api/login", json={"name": "hs-admin", "password": PASSWORD})
    assert locked.status == 429
    assert (await locked.json())["detail"] == "too many failed sign-ins; try again later"
    outcomes = [e.outcome for e in api.services.env.audit.entries(action="login")]
    assert outcomes == ["failed"] * 4 + ["locked"]  # the fifth failure locks; later attempts add nothing
    form = await api.client.post("/api/login", data={"name": "hs-admin", "password": PASSWORD})
    assert form.status in (400, 429)
    api.clock.now_ns += 16 * 60 * 10**9  # the lockout ends
    assert (await api.client.post("/api/login", json={"name": "hs-admin", "password": PASSWORD})).status == 200


async def test_disabled_user_loses_tokens(api: Api) -> None:
    api.services.env.accounts.set_disabled("hs-viewer", True, api.clock.now_ns)
    assert (await api.client.get("/api/me", headers=api.auth("hs-viewer"))).status == 401
