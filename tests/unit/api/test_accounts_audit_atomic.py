"""Sign-in, sign-out and responder links: when the audit entry cannot be written, the change does not
remain either (one transaction, issue 13). The audit log is made to refuse writes by a trigger."""

from __future__ import annotations

from tests.support.api_harness import PASSWORD, Api
from tests.support.audit_failure import break_audit, rows


async def _link(api: Api) -> tuple[int, str]:
    response = await api.client.post("/api/links", headers=api.auth("hs-admin"),
                                     json={"reason": "incident 7", "buildings": ["hs"]})
    assert response.status == 201, await response.text()
    body = await response.json()
    return int(body["id"]), str(body["url"]).rsplit("/", 1)[1]


async def test_sign_in_leaves_no_session_without_its_audit_entry(api: Api) -> None:
    path = api.services.config.storage.index_path
    break_audit(path)
    login = await api.client.post("/api/login", json={"name": "hs-admin", "password": PASSWORD})
    assert login.status == 500
    assert rows(path, "SELECT id FROM credentials WHERE kind = 'session'") == []


async def test_sign_out_keeps_the_session_without_its_audit_entry(api: Api) -> None:
    path = api.services.config.storage.index_path
    login = await api.client.post("/api/login", json={"name": "hs-admin", "password": PASSWORD})
    csrf = (await login.json())["csrf_token"]
    break_audit(path)
    out = await api.client.post("/api/logout", headers={"X-CSRF-Token": csrf})
    assert out.status == 500
    assert rows(path, "SELECT revoked_wall_ns FROM credentials WHERE kind = 'session'") == [(None,)]
    assert (await api.client.get("/api/me")).status == 200


async def test_link_creation_leaves_no_link_without_its_audit_entry(api: Api) -> None:
    path = api.services.config.storage.index_path
    break_audit(path)
    response = await api.client.post("/api/links", headers=api.auth("hs-admin"),
                                     json={"reason": "incident 7", "buildings": ["hs"]})
    assert response.status == 500
    assert rows(path, "SELECT id FROM links") == []


async def test_link_revocation_is_undone_without_its_audit_entry(api: Api) -> None:
    path = api.services.config.storage.index_path
    link_id, _ = await _link(api)
    break_audit(path)
    response = await api.client.delete(f"/api/links/{link_id}", headers=api.auth("hs-admin"))
    assert response.status == 500
    assert rows(path, "SELECT revoked_wall_ns FROM links") == [(None,)]


async def test_link_landing_counts_no_use_without_its_audit_entry(api: Api) -> None:
    path = api.services.config.storage.index_path
    _, token = await _link(api)
    break_audit(path)
    page = await api.client.get(f"/l/{token}")
    assert page.status == 500
    assert rows(path, "SELECT use_count, last_used_wall_ns FROM links") == [(0, None)]
