"""The administration pages in Chromium against the real daemon (issue 14): users (add, change
role and buildings, disable), responder links (create, copy, use count, revoke), API tokens (the
secret shown once, revoke), the audit log (filter, verify, a tampered entry found), storage and the
software update (issue 20: a bad bundle URL refused with the appliance's reason, district admins only).
The pages hide what the caller may not do, the appliance still refuses it, and a building admin
sees only their building's things. axe and screenshots at phone and desktop sizes."""

from __future__ import annotations

import json
import sqlite3

import pytest
from playwright.sync_api import Browser, Page

from tests.support.netns import requires_test_namespace
from tests.support.webapp import PASSWORD, WebApp, check_axe, new_page, screenshot

pytestmark = requires_test_namespace

ADMIN_PAGES = ("users", "links", "tokens", "audit", "storage")
DISTRICT_PAGES = ("update",)  # district admins' only: a building admin is not offered the tab


def _open(webapp: WebApp, browser: Browser, user: str, page_name: str, size: str = "desktop") -> Page:
    page, _ = new_page(browser, size)
    webapp.sign_in(page, user, f"#/admin/{page_name}")
    page.get_by_role("navigation", name="Administration").wait_for()
    return page


def _login_status(webapp: WebApp, user: str, password: str = PASSWORD) -> int:
    return webapp.request("POST", "/api/login", {"name": user, "password": password})[0]


def test_users_page_adds_changes_role_and_disables(webapp: WebApp, browser: Browser) -> None:
    page = _open(webapp, browser, "district", "users")
    page.locator("tr[data-user='hs-admin']").wait_for()
    add = page.get_by_role("form", name="Add a user")
    add.get_by_label("User name").fill("nurse")
    add.get_by_label("Password (at least 10 characters)").fill("the nurse's password")
    add.get_by_label("Role").select_option("viewer")
    add.get_by_label("Middle School").check()
    add.get_by_role("button", name="Add user").click()
    row = page.locator("tr[data-user='nurse']")
    row.wait_for()
    assert "Middle School" in row.inner_text() and "active" in row.inner_text()
    nurse = {"name": "nurse", "role": "viewer", "buildings": ["ms"], "disabled": False}
    assert nurse in webapp.json("GET", "/api/users")
    assert _login_status(webapp, "nurse", "the nurse's password") == 200
    # A scoped role with no building: the appliance's refusal is shown, nothing is added.
    add.get_by_label("User name").fill("nobody-here")
    add.get_by_label("Password (at least 10 characters)").fill("another long password")
    add.get_by_role("button", name="Add user").click()
    assert "needs at least one" in add.get_by_role("alert").inner_text()
    assert "nobody-here" not in json.dumps(webapp.json("GET", "/api/users"))

    row.get_by_role("button", name="Change role of nurse").click()
    edit = page.get_by_role("form", name="Role of nurse")
    edit.get_by_label("Role").select_option("building_admin")
    edit.get_by_label("High School").check()
    edit.get_by_role("button", name="Save").click()
    page.wait_for_function("() => document.querySelector(\"tr[data-user='nurse']\").textContent"
                           ".includes('Building admin')")
    assert "High School, Middle School" in row.inner_text()
    nurse = next(u for u in webapp.json("GET", "/api/users") if u["name"] == "nurse")
    assert (nurse["role"], nurse["buildings"]) == ("building_admin", ["hs", "ms"])

    row.get_by_role("button", name="Disable nurse").click()
    row.get_by_role("button", name="Confirm disable nurse").click()
    page.wait_for_function("() => document.querySelector(\"tr[data-user='nurse']\").textContent.includes('disabled')")
    assert _login_status(webapp, "nurse", "the nurse's password") == 401
    assert row.get_by_role("button", name="Change role of nurse").count() == 0
    actions = [e["action"] for e in webapp.json("GET", "/api/audit?action=user.role")]
    assert actions == ["user.role"]
    page.context.close()


def test_tokens_page_shows_the_secret_once_and_revokes(webapp: WebApp, browser: Browser) -> None:
    page = _open(webapp, browser, "district", "tokens")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=webapp.base)
    form = page.get_by_role("form", name="New API token")
    form.get_by_label("For user").select_option("hs-viewer")
    form.get_by_label("Label (what uses it)").fill("nightly report")
    form.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token").input_value()
    assert secret.startswith("vigil_t_")
    page.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    bearer = {"Authorization": f"Bearer {secret}"}
    assert webapp.request("GET", "/api/me", headers=bearer)[0] == 200
    row = page.locator("tr", has_text="nightly report")
    token_id = row.get_attribute("data-token")
    # Shown once: after a reload neither the page nor the listing holds it.
    page.reload()
    page.locator(f"tr[data-token='{token_id}']").wait_for()
    assert secret not in page.content() and page.locator("#new-token").count() == 0
    assert secret not in json.dumps(webapp.json("GET", "/api/tokens"))
    page.get_by_role("button", name=f"Revoke token {token_id}").click()
    page.get_by_role("button", name=f"Confirm revoke token {token_id}").click()
    page.wait_for_function(f"() => document.querySelector(\"tr[data-token='{token_id}']\").textContent"
                           ".includes('revoked')")
    assert webapp.request("GET", "/api/me", headers=bearer)[0] == 401
    page.context.close()


def test_links_page_creates_counts_uses_and_revokes(webapp: WebApp, browser: Browser) -> None:
    page = _open(webapp, browser, "district", "links")
    form = page.get_by_role("form", name="New responder link")
    form.get_by_label("Reason (incident number or text)").fill("incident 77")
    form.get_by_label("Gym Lobby").check()
    form.get_by_label("Expires after").select_option("4")
    form.get_by_role("button", name="Create link").click()
    url = page.locator("#new-link-url").input_value()
    assert url.startswith(webapp.base + "/l/vigil_l_")
    link = next(li for li in webapp.json("GET", "/api/links") if li["reason"] == "incident 77")
    assert link["cameras"] == ["hs-gym"] and link["live"] is True and link["use_count"] == 0
    token = url.rsplit("/", 1)[1]
    assert webapp.request("GET", "/api/me", headers={"Authorization": f"Bearer {token}"})[0] == 200
    page.reload()
    row = page.locator(f"tr[data-link='{link['id']}']")
    assert row.locator("[data-uses]").inner_text().startswith("1")
    assert "Gym Lobby" in row.inner_text() and "expires in 3 h" in row.inner_text()
    row.get_by_role("button", name=f"Revoke link {link['id']}").click()
    row.get_by_role("button", name=f"Confirm revoke link {link['id']}").click()
    page.wait_for_function(f"() => document.querySelector(\"tr[data-link='{link['id']}']\").textContent"
                           ".includes('revoked')")
    assert webapp.request("GET", "/api/me", headers={"Authorization": f"Bearer {token}"})[0] == 401
    page.context.close()


def test_storage_page_reports_every_camera_to_the_district(webapp: WebApp, browser: Browser) -> None:
    page = _open(webapp, browser, "district", "storage")
    page.locator("tr[data-camera]").first.wait_for()
    cameras = page.locator("tr[data-camera]").evaluate_all("els => els.map(e => e.dataset.camera)")
    assert sorted(cameras) == ["hs-east", "hs-gym", "ms-front"]
    assert "Front Office" in page.content() and page.locator("meter").count() == 1
    assert page.get_by_role("status").first.inner_text()
    page.context.close()


def test_update_page_refuses_a_bad_url_and_hides_from_others(webapp: WebApp, browser: Browser) -> None:
    page = _open(webapp, browser, "district", "update")
    assert "Update" in page.get_by_role("navigation", name="Administration").inner_text().split()
    page.get_by_text("Not running on an appliance: no A/B slots here.").wait_for()
    assert page.get_by_test_id("last-update").inner_text() == "No update has been requested on this appliance."
    form = page.get_by_role("form", name="Install an update")
    # Not an http(s) address: refused before anything is downloaded, the appliance's reason shown.
    form.get_by_label("Bundle URL").fill("ftp://example.org/x.raucb")
    form.get_by_role("button", name="Install update").click()
    form.get_by_role("alert").filter(has_text="http:// or https://").wait_for()
    # Nothing listens on the discard port (loopback only): the download fails, and says so.
    form.get_by_label("Bundle URL").fill("http://127.0.0.1:9/x.raucb")
    form.get_by_label("Reboot").select_option("at")
    assert form.get_by_label("Time tonight (local)").input_value() == "02:00"
    form.get_by_role("button", name="Install update").click()
    form.get_by_role("alert").filter(has_text="cannot download").wait_for()
    alerts = form.get_by_role("alert").all_inner_texts()
    assert len(alerts) == 1 and "http:// or https://" not in alerts[0]
    assert form.get_by_test_id("update-progress").inner_text() == ""
    assert webapp.json("GET", "/api/appliance/update") == {"update": None, "slots": None}
    refused = webapp.json("GET", "/api/audit?action=appliance.update")
    assert [(e["target"], e["outcome"]) for e in refused] == [("http://127.0.0.1:9/x.raucb", "refused")]
    page.context.close()

    page = _open(webapp, browser, "hs-admin", "update")
    page.get_by_test_id("not-allowed").wait_for()
    assert "update this appliance" in page.get_by_test_id("not-allowed").inner_text()
    assert "Update" not in page.get_by_role("navigation", name="Administration").inner_text().split()
    assert page.get_by_role("form").count() == 0
    body = {"url": "http://127.0.0.1:9/x.raucb", "reboot": "now"}
    assert webapp.request("POST", "/api/appliance/update", body, user="hs-admin")[0] == 403
    assert webapp.request("GET", "/api/appliance/update", user="hs-admin")[0] == 403
    page.context.close()


def test_a_building_admin_sees_only_their_building_and_the_server_refuses_the_rest(
        webapp: WebApp, browser: Browser) -> None:
    ms_link = webapp.link("--building", "ms")
    hs_link = webapp.link("--camera", "hs-east")
    page = _open(webapp, browser, "hs-admin", "links")
    tabs = page.get_by_role("navigation", name="Administration").inner_text()
    assert "Responder links" in tabs and "Storage" in tabs
    assert "Users" not in tabs and "API tokens" not in tabs and "Audit" not in tabs
    nav = page.get_by_role("navigation", name="Main").inner_text()
    assert "Links" in nav and "Admin" not in nav and "Audit" not in nav
    page.locator("tr[data-link]").first.wait_for()
    listed = page.locator("tr[data-link]").evaluate_all("els => els.map(e => e.dataset.link)")
    assert listed and all(int(i) != _link_id(webapp, ms_link) for i in listed)
    assert str(_link_id(webapp, hs_link)) in listed
    form = page.get_by_role("form", name="New responder link")
    assert form.get_by_label("High School").count() == 1 and form.get_by_label("Middle School").count() == 0
    assert form.get_by_label("Front Office").count() == 0
    assert "Middle School" not in page.content() and "Front Office" not in page.content()
    page.goto(webapp.base + "/#/admin/storage")
    page.locator("tr[data-camera]").first.wait_for()
    cameras = page.locator("tr[data-camera]").evaluate_all("els => els.map(e => e.dataset.camera)")
    assert sorted(cameras) == ["hs-east", "hs-gym"] and "Front Office" not in page.content()
    assert page.locator("meter").count() == 0  # the disk is the appliance's figure, not a building's
    for name in ("users", "tokens", "audit"):
        page.goto(webapp.base + f"/#/admin/{name}")
        page.get_by_test_id("not-allowed").wait_for()
        assert page.locator("table").count() == 0
    # The pages hide it; the appliance refuses it anyway, to the session and to a token.
    refused = page.evaluate("""async () => {
        const me = await (await fetch("/api/me")).json();
        const post = (path, body) => fetch(path, {method: "POST", body: JSON.stringify(body),
            headers: {"Content-Type": "application/json", "X-CSRF-Token": me.csrf_token}}).then(r => r.status);
        return [await fetch("/api/users").then(r => r.status), await fetch("/api/tokens").then(r => r.status),
                await fetch("/api/audit/verify").then(r => r.status),
                await post("/api/users", {name: "evil", role: "district_admin", password: "long enough pw"}),
                await post("/api/tokens", {user: "hs-admin", label: "mine"}),
                await post("/api/links", {buildings: ["ms"], reason: "not mine"})];
    }""")
    assert refused == [403] * 6
    ms_id = _link_id(webapp, ms_link)
    assert webapp.request("DELETE", f"/api/links/{ms_id}", user="hs-admin")[0] == 403
    assert webapp.request("PATCH", "/api/users/hs-admin", {"role": "district_admin"}, user="hs-admin")[0] == 403
    assert next(li for li in webapp.json("GET", "/api/links") if li["id"] == ms_id)["state"] == "active"
    page.context.close()


def _link_id(webapp: WebApp, url: str) -> int:
    """The id of the link whose URL this is (the newest link with its scope; ids are not in the URL)."""
    token = url.rsplit("/", 1)[1]
    status, body, _ = webapp.request("GET", "/api/me", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    return int(json.loads(body)["link_id"])


def test_a_viewer_is_offered_no_administration(webapp: WebApp, browser: Browser) -> None:
    page = _open(webapp, browser, "hs-viewer", "links")
    page.get_by_test_id("not-allowed").wait_for()
    tabs = page.get_by_role("navigation", name="Administration").inner_text()
    assert tabs.split() == ["Storage"]
    assert page.get_by_role("form").count() == 0
    assert webapp.request("GET", "/api/links", user="hs-viewer")[0] == 403
    page.context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_admin_pages_pass_axe_and_are_screenshot(webapp: WebApp, browser: Browser, size: str) -> None:
    for user in ("district", "hs-admin"):
        page, console = new_page(browser, size)
        webapp.sign_in(page, user, "#/admin/storage")
        for name in ADMIN_PAGES + (DISTRICT_PAGES if user == "district" else ()):
            page.goto(webapp.base + f"/#/admin/{name}")
            page.get_by_role("heading", level=1).wait_for()
            page.wait_for_load_state("networkidle")
            page.locator("p[aria-live='polite']", has_text="Loading").wait_for(state="detached")
            check_axe(page)
            screenshot(page, f"admin-{name}-{user}-{size}")
        assert console.csp_violations() == []
        page.context.close()


def test_audit_page_filters_verifies_and_finds_a_tampered_entry(webapp: WebApp, browser: Browser) -> None:
    """Last in the module: it breaks the chain of this module's daemon on purpose."""
    page = _open(webapp, browser, "district", "audit")
    page.locator("tr[data-entry]").first.wait_for()
    page.get_by_label("Action (exact, e.g. link.create)").fill("user.add")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("() => location.hash.includes('action=user.add')")
    page.locator("tr[data-entry]").first.wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('tr[data-entry] td:nth-child(4)')]"
                           ".every(td => td.textContent === 'user.add')")
    shown = page.locator("tr[data-entry] td:nth-child(3)").all_inner_texts()
    assert len(shown) >= len(("district", "hs-admin", "ms-admin", "hs-viewer", "hs-installer"))
    page.get_by_role("button", name="Verify the chain").click()
    result = page.get_by_test_id("verify-result")
    result.get_by_text("Chain intact").wait_for()
    # Change one entry behind the appliance's back: verification names it.
    index = webapp.config.parent / "data" / "index.sqlite3"
    conn = sqlite3.connect(index, timeout=30)
    with conn:
        conn.execute("UPDATE audit SET detail = '{\"role\":\"district_admin\"}' WHERE id = 3")
    conn.close()
    page.get_by_role("button", name="Verify the chain").click()
    result.get_by_text("Chain broken at entry 3").wait_for()
    check = webapp.json("GET", "/api/audit/verify")
    assert check["ok"] is False and check["first_broken_id"] == 3
    page.context.close()
