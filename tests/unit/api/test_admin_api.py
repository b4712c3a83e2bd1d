"""Users, API tokens and the audit chain's check over HTTP (issue 14): district admins only, the
token's secret in the creation's answer and nowhere after, and a tampered chain reported."""

from __future__ import annotations

import sqlite3

from tests.support.api_harness import Api
from vigil.core.permissions import Action, Target
from vigil.credential_watch import Binding
from vigil.services.accounts import credential_digest

NEW_PASSWORD = "a long enough password"


async def test_add_user_then_they_sign_in_with_their_scope(api: Api) -> None:
    headers = api.auth("district")
    added = await api.client.post("/api/users", headers=headers, json={
        "name": "nurse", "role": "viewer", "buildings": ["ms"], "password": NEW_PASSWORD})
    assert added.status == 201, await added.text()
    assert await added.json() == {"name": "nurse", "role": "viewer", "buildings": ["ms"], "disabled": False}
    login = await api.client.post("/api/login", json={"name": "nurse", "password": NEW_PASSWORD})
    assert login.status == 200
    cameras = await (await api.client.get("/api/cameras")).json()
    assert [c["id"] for c in cameras] == ["ms-cam"]
    listed = await (await api.client.get("/api/users", headers=headers)).json()
    assert {"name": "nurse", "role": "viewer", "buildings": ["ms"], "disabled": False} in listed
    assert all("password" not in str(u) for u in listed)
    [entry] = api.services.env.audit.entries(action="user.add")
    assert (entry.actor, entry.target, entry.detail["via"]) == ("user:district", "user:nurse", "token")


async def test_bad_user_bodies_are_400_and_add_nothing(api: Api) -> None:
    headers = api.auth("district")
    for body, message in (
        ({"role": "viewer", "buildings": ["hs"], "password": NEW_PASSWORD}, "name"),
        ({"name": "x", "role": "king", "buildings": ["hs"], "password": NEW_PASSWORD}, "role must be one of"),
        ({"name": "x", "role": "viewer", "buildings": "hs", "password": NEW_PASSWORD}, "list of building ids"),
        ({"name": "x", "role": "viewer", "buildings": ["hs"], "password": "short"}, "password too short"),
        ({"name": "x", "role": "viewer", "buildings": [], "password": NEW_PASSWORD}, "needs at least one"),
        ({"name": "hs-admin", "role": "viewer", "buildings": ["hs"], "password": NEW_PASSWORD}, "already exists"),
    ):
        response = await api.client.post("/api/users", headers=headers, json=body)
        assert response.status in (400, 409), body
        assert response.content_type == "application/problem+json"
        assert message in (await response.json())["detail"], body
    names = [u["name"] for u in await (await api.client.get("/api/users", headers=headers)).json()]
    assert "x" not in names and api.services.env.audit.entries(action="user.add") == []


async def test_role_change_and_disable_apply_at_once(api: Api) -> None:
    headers = api.auth("district")
    viewer = api.auth("hs-viewer")
    assert [c["id"] for c in await (await api.client.get("/api/cameras", headers=viewer)).json()] == ["hs-cam"]
    changed = await api.client.patch("/api/users/hs-viewer", headers=headers,
                                     json={"role": "viewer", "buildings": ["ms"]})
    assert changed.status == 200 and (await changed.json())["buildings"] == ["ms"]
    assert [c["id"] for c in await (await api.client.get("/api/cameras", headers=viewer)).json()] == ["ms-cam"]
    assert (await api.client.get("/api/cameras/hs-cam/segments", headers=viewer)).status == 403
    disabled = await api.client.post("/api/users/hs-viewer/disable", headers=headers)
    assert disabled.status == 200 and (await disabled.json())["disabled"] is True
    assert (await api.client.get("/api/cameras", headers=viewer)).status == 401
    last = await api.client.post("/api/users/district/disable", headers=headers)
    assert last.status == 409 and "no active district admin" in (await last.json())["detail"]
    unknown = await api.client.patch("/api/users/nobody", headers=headers, json={"role": "installer"})
    assert unknown.status == 404


async def test_token_secret_is_shown_once_and_revocation_is_immediate(api: Api) -> None:
    headers = api.auth("district")
    created = await api.client.post("/api/tokens", headers=headers, json={"user": "hs-admin", "label": "nightly"})
    assert created.status == 201, await created.text()
    body = await created.json()
    secret = body["token"]
    assert secret.startswith("vigil_t_") and body["state"] == "active" and body["user"] == "hs-admin"
    listing = await (await api.client.get("/api/tokens", headers=headers)).text()
    assert secret not in listing and '"token"' not in listing and "nightly" in listing
    audit_text = str([(e.detail, e.target) for e in api.services.env.audit.entries()])
    assert secret not in audit_text
    bearer = {"Authorization": f"Bearer {secret}"}
    assert (await api.client.get("/api/me", headers=bearer)).status == 200
    revoked = await api.client.delete(f"/api/tokens/{body['id']}", headers=headers)
    assert revoked.status == 200 and (await revoked.json())["state"] == "revoked"
    assert "token" not in await revoked.json()
    assert (await api.client.get("/api/me", headers=bearer)).status == 401
    assert (await api.client.delete("/api/tokens/999999", headers=headers)).status == 404
    assert (await api.client.delete("/api/tokens/abc", headers=headers)).status == 400


async def test_only_district_admins_administer_and_denials_are_audited(api: Api) -> None:
    for caller in ("hs-admin", "hs-viewer", "installer"):
        for method, path, body in (("GET", "/api/users", None), ("GET", "/api/tokens", None),
                                   ("POST", "/api/tokens", {"user": caller, "label": "mine"}),
                                   ("POST", "/api/users", {"name": "evil", "role": "district_admin",
                                                           "password": NEW_PASSWORD}),
                                   ("PATCH", f"/api/users/{caller}", {"role": "district_admin"}),
                                   ("GET", "/api/audit/verify", None)):
            response = await api.client.request(method, path, headers=api.auth(caller), json=body)
            assert response.status == 403, (caller, method, path)
    denied = {(e.actor, e.action) for e in api.services.env.audit.entries() if e.outcome == "denied"}
    assert ("user:hs-admin", "manage_users") in denied and ("user:installer", "view_audit") in denied
    assert api.services.env.audit.entries(action="user.add") == []
    assert api.services.env.audit.entries(action="token.create") == []


async def test_audit_verify_reports_a_tampered_entry(api: Api) -> None:
    headers = api.auth("district")
    await api.client.post("/api/tokens", headers=headers, json={"user": "hs-admin", "label": "a"})
    await api.client.post("/api/tokens", headers=headers, json={"user": "hs-admin", "label": "b"})
    ok = await api.client.get("/api/audit/verify", headers=headers)
    assert ok.status == 200
    check = await ok.json()
    assert check["ok"] is True and check["entries"] == 2 and check["first_broken_id"] is None
    conn = sqlite3.connect(api.services.config.storage.index_path)
    with conn:
        conn.execute("UPDATE audit SET detail = '{\"label\":\"forged\"}' WHERE id = 2")
    conn.close()
    broken = await (await api.client.get("/api/audit/verify", headers=headers)).json()
    assert broken["ok"] is False and broken["first_broken_id"] == 2 and broken["problem"]



async def test_audit_newest_first_gives_the_last_entries(api: Api) -> None:
    headers = api.auth("district")
    for label in ("a", "b", "c"):
        await api.client.post("/api/tokens", headers=headers, json={"user": "hs-admin", "label": label})
    newest = await (await api.client.get("/api/audit?action=token.create&order=newest&limit=2",
                                         headers=headers)).json()
    assert [e["detail"]["label"] for e in newest] == ["c", "b"]
    oldest = await (await api.client.get("/api/audit?action=token.create&limit=2", headers=headers)).json()
    assert [e["detail"]["label"] for e in oldest] == ["a", "b"]
    bad = await api.client.get("/api/audit?order=sideways", headers=headers)
    assert bad.status == 400 and "order must be" in (await bad.json())["detail"]


async def test_a_role_change_ends_live_views_the_new_role_does_not_grant(api: Api) -> None:
    watch = api.services.credential_watch
    assert watch is not None
    ended: list[str] = []

    async def on_end(reason: str) -> None:
        ended.append(reason)

    credential = credential_digest(api.tokens["hs-viewer"])
    watch.bind(Binding(credential, Action.VIEW_LIVE, Target(building="hs", camera="hs-cam"), on_end))
    await watch.check()
    assert ended == []
    changed = await api.client.patch("/api/users/hs-viewer", headers=api.auth("district"),
                                     json={"role": "viewer", "buildings": ["ms"]})
    assert changed.status == 200
    await watch.check()
    assert len(ended) == 1 and "view_live is no longer allowed" in ended[0]
