"""The web app's shell in Chromium: sign-in, the navigation the caller may use, the camera list
of the caller's buildings only, strict CSP without violations, axe-clean at both sizes."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser

from tests.support.netns import requires_test_namespace
from tests.support.webapp import WebApp, check_axe, new_page, screenshot

pytestmark = requires_test_namespace


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_sign_in_and_cameras_of_own_building(webapp: WebApp, browser: Browser, size: str) -> None:
    page, console = new_page(browser, size)
    page.goto(webapp.base + "/")
    page.get_by_label("User name").wait_for()
    check_axe(page)
    screenshot(page, f"sign-in-{size}")
    page.get_by_label("User name").fill("hs-admin")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert "password" in page.get_by_role("alert").inner_text().lower()

    webapp.sign_in(page, "hs-admin", "#/cameras")
    page.get_by_role("heading", name="High School").wait_for()
    cards = page.locator("[data-camera]")
    cards.first.wait_for()
    assert sorted(cards.evaluate_all("els => els.map(e => e.dataset.camera)")) == ["hs-east", "hs-gym"]
    assert "Middle School" not in page.content() and "Front Office" not in page.content()
    nav = page.get_by_role("navigation", name="Main").inner_text()
    assert "Cameras" in nav and "Audit" not in nav  # a building admin does not read the audit log
    check_axe(page)
    screenshot(page, f"cameras-{size}")
    # Keyboard: the skip link is the first stop and moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("User name").wait_for()
    assert console.csp_violations() == []
    page.context.close()


def test_me_says_what_the_app_may_offer(webapp: WebApp) -> None:
    hs_admin = webapp.json("GET", "/api/me", user="hs-admin")
    assert hs_admin["can"]["configure_cameras"] == ["hs"] and "manage_users" not in hs_admin["can"]
    assert "csrf_token" not in hs_admin  # a bearer token has no CSRF token to tell
    district = webapp.json("GET", "/api/me", user="district")
    assert district["can"]["manage_users"] == ["*"] and district["can"]["view_live"] == ["hs", "ms"]
    installer = webapp.json("GET", "/api/me", user="hs-installer")
    assert "view_live" not in installer["can"]
    link = webapp.link("--camera", "hs-gym").rsplit("/", 1)[1]
    status, body, _ = webapp.request("GET", "/api/me", headers={"Authorization": f"Bearer {link}"})
    assert status == 200 and json.loads(body)["can"] == {"view_status": ["hs"], "view_live": ["hs"]}


def test_pages_are_served_with_a_strict_policy(webapp: WebApp) -> None:
    status, body, headers = webapp.request("GET", "/")
    assert status == 200 and b"/assets/main.js" in body
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert b"<script>" not in body and b"style=" not in body  # nothing inline
    status, body, headers = webapp.request("GET", "/assets/main.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and len(body) > 1000
    assert headers["X-Content-Type-Options"] == "nosniff"
    for bad in ("/assets/../vigil.toml", "/assets/%2e%2e/%2e%2e/api/pages.py", "/assets/.vigil", "/assets/nothing.js",
                "/assets/LICENSES.md/x"):
        assert webapp.request("GET", bad)[0] == 404, bad
