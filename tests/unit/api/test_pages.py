"""The pages' addresses: the app's shell, its assets, and the older live viewer's address."""

from __future__ import annotations

from tests.support.api_harness import Api


async def test_old_live_address_leads_to_the_app_live_page(api: Api) -> None:
    response = await api.client.get("/live/hs-cam?quality=sub&relay=1", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/#/live/hs-cam?quality=sub&relay=1"
    odd = await api.client.get("/live/a%2Fb%3Fc", allow_redirects=False)  # quoted, never a new path or query
    assert odd.status == 303 and odd.headers["Location"] == "/#/live/a%2Fb%3Fc"


async def test_the_shell_has_no_inline_script_and_a_strict_policy(api: Api) -> None:
    response = await api.client.get("/")
    body = await response.text()
    assert response.status == 200 and '<script type="module" src="/assets/main.js">' in body
    assert "<script>" not in body and "style=" not in body
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy and "frame-ancestors 'none'" in policy
