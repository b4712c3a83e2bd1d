"""The appliance's #/district-signin page in Chromium against the real daemon, enrolled with a test
hub key (tests/support/district.py): the hub token leaves the address bar and history before it is
used, the page lands on `next` (only a path of this app; anything else goes home) signed in as the
hub user ("Signed in through <hub>"), and a refused link (expired, already used, for another
appliance, damaged) says why and to ask the hub for a new link. axe and screenshots at both sizes.
The whole chain (a real hub, enrolment, bridges) is tests/e2e/web/test_district.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Browser, Page

from tests.support.district import HUB_NAME, enrol_test_hub, hub_token
from tests.support.webapp import WebApp, check_axe, new_page, running_webapp, screenshot
from vigil.core.permissions import Role

SITE = "site-a"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebApp, Ed25519PrivateKey]]:
    tmp = tmp_path_factory.mktemp("district-signin")
    with running_webapp(tmp) as web:
        key = enrol_test_hub(tmp / "data", SITE)  # the daemon reads hub.json at each use
        yield web, key


def open_link(page: Page, web: WebApp, token: str, next_path: str | None) -> None:
    query = f"token={token}" + (f"&next={quote(next_path, safe='')}" if next_path is not None else "")
    page.goto(f"{web.base}/#/district-signin?{query}")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_hub_link_signs_in_and_lands_on_next_without_the_token(
        app: tuple[WebApp, Ed25519PrivateKey], browser: Browser, size: str) -> None:
    web, key = app
    page, console = new_page(browser, size)
    page.goto(f"{web.base}/#/")  # history: the app, then the link
    page.get_by_label("User name").wait_for()
    token = hub_token(key, time.time_ns(), site=SITE, user=f"dana-{size}", role=Role.VIEWER, buildings=("hs",),
                      lifetime_s=300)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    open_link(page, web, token, "/#/live/hs-east")
    page.wait_for_url(f"{web.base}/#/live/hs-east")
    page.get_by_role("heading", name="East Entrance").wait_for()
    page.get_by_text(f"Signed in through {HUB_NAME}").wait_for()
    page.get_by_text(f"hub:dana-{size}").wait_for()
    assert not [u for u in requests if token in u]  # the token went in a POST body, never in a URL
    check_axe(page)
    screenshot(page, f"district-signin-landed-{size}")
    # No history entry holds the token: one step back is the page before the link.
    page.go_back()
    page.wait_for_url(f"{web.base}/#/")
    assert token not in page.evaluate("() => window.location.href")
    assert console.csp_violations() == []
    page.context.close()


@pytest.mark.parametrize("next_path", ["https://evil.example/#/x", "//evil.example/#/x", "javascript:alert(1)",
                                       "/other/#/x"])
def test_a_next_outside_the_app_goes_home(app: tuple[WebApp, Ed25519PrivateKey], browser: Browser,
                                          next_path: str) -> None:
    web, key = app
    page, _ = new_page(browser, "desktop")
    token = hub_token(key, time.time_ns(), site=SITE, user="erin", role=Role.VIEWER, buildings=("hs",))
    open_link(page, web, token, next_path)
    page.wait_for_url(f"{web.base}/#/")
    page.get_by_role("button", name="Sign out").wait_for()
    assert "evil" not in page.url
    page.context.close()


def test_refused_links_say_why_and_to_ask_the_hub(app: tuple[WebApp, Ed25519PrivateKey], browser: Browser) -> None:
    web, key = app
    page, console = new_page(browser, "phone")
    now = time.time_ns()
    cases = {
        "the link has expired": hub_token(key, now, site=SITE, lifetime_s=60, issued_ago_s=600, buildings=("hs",),
                                          role=Role.VIEWER),
        "the link was made for another appliance": hub_token(key, now, site="site-b", role=Role.VIEWER,
                                                             buildings=("hs",)),
        "the link is damaged": "vh1.bm90LWEtdG9rZW4.c2lnbmF0dXJl",
        "the link has no token": "",
    }
    used = hub_token(key, now, site=SITE, role=Role.VIEWER, buildings=("hs",))
    status, body, _ = web.request("POST", "/api/district/session", {"token": used})
    assert status == 200, body
    cases["the link was already used"] = used
    for reason, token in cases.items():
        open_link(page, web, token, "/#/map")
        alert = page.get_by_role("alert").filter(has_text="Ask the hub for a new link")
        alert.wait_for()
        text = alert.inner_text()
        assert reason.split(" ", 3)[-1] in text or (reason == "the link has no token" and "no token" in text), text
        assert "token=" not in page.url and page.url.endswith("#/district-signin")
        if reason == "the link has expired":
            check_axe(page)
            screenshot(page, "district-signin-refused-phone")
    # Nobody was signed in by any of them.
    page.get_by_role("link", name="Sign in with an account of this appliance instead").click()
    page.get_by_label("User name").wait_for()
    assert console.csp_violations() == []
    page.context.close()
