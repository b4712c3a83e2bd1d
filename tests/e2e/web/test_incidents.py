"""Incident mode in Chromium against the daemon with simulated cameras: a building admin declares
from the map with the keyboard only (the dialog keeps focus inside, Escape closes it and focus goes
back); the red banner arrives live for the building's admin and a district admin and never for
another building's admin, and is not re-announced on a re-poll; the incident page shows the
responder link (copied by the Copy button, or selected when the clipboard refuses) and the delivery
to the dispatch webhook (a real HTTP receiver on loopback) as the API reports it; the responder
link on a phone opens the building's map, plays live and lists the incident's door events as they
arrive, while the admin's page shows who watches; the one-click drill (`?demo=1`, and `vigil demo`
itself) gives a banner marked DRILL in another style; ending with a note shows the report's export
and its download. axe is clean, screenshots are written at both sizes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import Browser, Page

from tests.support.browser import wait_decoding
from tests.support.netns import requires_test_namespace
from tests.support.plan_images import png_bytes
from tests.support.vigil_proc import DAEMON_DIR, run_vigil, vigil_stdin
from tests.support.webapp import PASSWORD, WebApp, check_axe, free_port, new_page, running_webapp, screenshot
from vigil.core.timebase import wall_ns_to_iso

pytestmark = requires_test_namespace

HOOK_SECRET = "a dispatch webhook secret of enough length"
DOORS = """
[[doors]]
id = "hs-east-door"
name = "East Entrance Door"
building = "hs"
cameras = ["hs-east"]
access_points = [{ source = "lenel", id = "r1" }]
[[doors]]
id = "ms-front-door"
name = "Front Office Door"
building = "ms"
cameras = ["ms-front"]
access_points = [{ source = "lenel", id = "r2" }]
"""
RED = "rgb(164, 22, 26)"  # var(--danger): a real incident's banner


class WebhookReceiver:
    """The dispatch centre: an aiohttp server on loopback in its own thread, keeping each body."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bodies: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dispatch"

    async def _hook(self, request: web.Request) -> web.Response:
        self.bodies.append(dict(json.loads(await request.read())))
        return web.Response(status=204)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/dispatch", self._hook)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        assert self._ready.wait(10), "the webhook receiver did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def webapp(tmp_path_factory: pytest.TempPathFactory, hook: WebhookReceiver) -> Iterator[WebApp]:
    """The web app with a door in each building, a dispatch webhook and an access-control account; a short
    look-back and tail keep the report small and soon made."""
    extra = DOORS + f"""
[incidents]
lookback_s = 30
tail_s = 2
[[incidents.webhooks]]
name = "dispatch"
url = "{hook.url}"
secret = "{HOOK_SECRET}"
timeout_s = 3
[[incidents.webhooks]]
name = "down"
url = "http://127.0.0.1:{free_port()}/nobody-listens"
secret = "{HOOK_SECRET}"
timeout_s = 3
"""
    with running_webapp(tmp_path_factory.mktemp("webapp-incidents"), extra) as app:
        added = vigil_stdin(PASSWORD + "\n", "user", "add", "lenel", "--role", "door_system", "--password-stdin",
                            "--config", str(app.config))
        assert added.returncode == 0, added.stderr
        yield app


def _door_event(app: WebApp, event_id: str, reader: str, kind: str) -> dict[str, Any]:
    token = run_vigil("token", "create", "lenel", "--config", str(app.config)).stdout.strip()
    status, body, _ = app.request("POST", "/api/door-events", {
        "source": "lenel", "event_id": event_id, "kind": kind, "occurred_at": wall_ns_to_iso(time.time_ns()),
        "access_point": reader}, headers={"Authorization": f"Bearer {token}"})
    assert status == 201, body
    return dict(json.loads(body))


def _open_incident(app: WebApp, building: str, declare: bool = True) -> dict[str, Any]:
    """The building's open incident (declared through the API when none is, so a test runs alone)."""
    found = [i for i in app.json("GET", "/api/incidents?state=open")["incidents"] if i["building"] == building]
    if not found and declare:
        return dict(app.json("POST", "/api/incidents", {"building": building, "reason": "Forced entrance"},
                             user=f"{building}-admin")["incident"])
    (incident,) = found
    return dict(incident)


def _focus_by_tab(page: Page, text: str, limit: int = 80) -> None:
    """Presses Tab until the focused element's text is `text`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement?.textContent?.trim()") == text:
            return
    raise AssertionError(f"Tab never reached {text!r}")


def _focus_in_dialog(page: Page) -> bool:
    return bool(page.evaluate("() => !!document.activeElement?.closest('dialog[open]')"))


def test_declare_by_keyboard_and_the_banner_reaches_who_sees_the_building(webapp: WebApp, browser: Browser) -> None:
    # Watchers first: the banner must come to them live, not on their next page load.
    district, _ = new_page(browser, "desktop")
    webapp.sign_in(district, "district", "#/cameras")
    district.locator("#alerts [data-connected='yes']").wait_for()  # the alert stream is open
    other, _ = new_page(browser, "desktop")
    webapp.sign_in(other, "ms-admin", "#/cameras")
    other.locator("#alerts [data-connected='yes']").wait_for()

    page, console = new_page(browser, "desktop")
    webapp.sign_in(page, "hs-admin", "#/map/hs")
    page.get_by_text("This building has no floor plan yet.").wait_for()
    _focus_by_tab(page, "Declare incident")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Declare an incident")
    dialog.wait_for()
    assert page.evaluate("() => document.activeElement.id") == "incident-reason"
    assert dialog.get_by_label("Building").input_value() == "hs"  # preselected: the map's building
    check_axe(page)
    screenshot(page, "incident-declare-desktop")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate("() => document.activeElement?.textContent?.trim()") == "Declare incident"
    page.keyboard.press("Enter")
    dialog.wait_for()
    # Focus stays inside the dialog both ways round.
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 12:
        page.keyboard.press(key)
        assert _focus_in_dialog(page), key
    page.get_by_label("Reason (required)").focus()
    page.keyboard.type("Forced entrance at the east door")
    _focus_by_tab(page, "Declare", 12)
    with page.expect_response(lambda r: r.url.endswith("/api/incidents") and r.request.method == "POST") as posted:
        page.keyboard.press("Enter")
    assert posted.value.status == 201, posted.value.text()
    incident = posted.value.json()["incident"]
    assert (incident["building"], incident["reason"], incident["drill"], incident["declared_by"]) == (
        "hs", "Forced entrance at the east door", False, "user:hs-admin")
    page.wait_for_url(f"**/#/incidents/{incident['id']}")

    # The banner: here, and live on the district admin's page; never on the Middle School admin's.
    for watcher in (page, district):
        item = watcher.locator(f".incidents-banner [data-incident='{incident['id']}']")
        item.wait_for(timeout=10_000)  # well before the 30 s re-poll: the alert stream brought it
        text = item.inner_text()
        assert "INCIDENT" in text and "High School" in text and "Forced entrance at the east door" in text, text
        assert item.get_by_role("alert").count() == 1
        assert item.evaluate("e => getComputedStyle(e).backgroundColor") == RED
        assert item.get_by_role("link").get_attribute("href") == f"#/incidents/{incident['id']}"
    # A re-poll changes no node: nothing is announced again.
    alert = district.locator(f".incidents-banner [data-incident='{incident['id']}'] [role=alert]")
    alert.evaluate("e => { e.dataset.seen = 'yes'; }")
    with district.expect_response(lambda r: "/api/incidents?state=open" in r.url):
        district.evaluate("() => window.dispatchEvent(new Event('vigil-incidents-changed'))")
    district.wait_for_timeout(300)
    assert alert.get_attribute("data-seen") == "yes"
    other.wait_for_timeout(2000)
    assert other.locator(".incidents-banner").count() == 0
    assert webapp.json("GET", "/api/incidents", user="ms-admin") == {"incidents": []}
    other.reload()
    other.get_by_role("button", name="Sign out").wait_for()
    other.wait_for_load_state("networkidle")
    assert other.locator(".incidents-banner").count() == 0
    assert "Forced entrance" not in other.content()
    check_axe(page)
    screenshot(page, "incident-page-desktop")
    assert console.csp_violations() == []
    for p in (page, district, other):
        p.context.close()


def test_incident_page_link_deliveries_copy(webapp: WebApp, browser: Browser, hook: WebhookReceiver) -> None:
    incident = _open_incident(webapp, "hs")
    page, console = new_page(browser, "desktop")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=webapp.base)
    webapp.sign_in(page, "hs-admin", f"#/incidents/{incident['id']}")
    mine = webapp.json("GET", f"/api/incidents/{incident['id']}", user="hs-admin")
    assert mine["link_url"], mine
    link = page.get_by_label("Responder link (valid while the incident is open)")
    assert link.input_value() == mine["link_url"]
    # Delivery to the dispatch webhook: the row says what the appliance says, and follows it while pending.
    row = page.locator("table.deliveries tr[data-recipient='webhook:dispatch'][data-event='declared']")
    row.wait_for()
    deadline = time.monotonic() + 20
    while True:
        api_row = next(d for d in webapp.json("GET", f"/api/incidents/{incident['id']}", user="hs-admin")["deliveries"]
                       if d["recipient"] == "webhook:dispatch" and d["event"] == "declared")
        if api_row["state"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    page.wait_for_function(f"() => document.querySelector(\"tr[data-recipient='webhook:dispatch']\")"
                           f"?.dataset.state === {json.dumps(api_row['state'])}", timeout=10_000)
    assert row.locator("td").nth(3).inner_text() == str(api_row["attempts"])
    if api_row["state"] == "delivered":  # the delivery worker is there: the receiver has the link's body
        assert row.locator("td").nth(2).inner_text().startswith("Delivered")
        assert any(b.get("incident") == incident["id"] and b.get("link") == mine["link_url"] for b in hook.bodies), \
            hook.bodies
    # A recipient that is down: once tried, the page shows the attempts and the last error the appliance keeps.
    deadline = time.monotonic() + 20
    down = None
    while time.monotonic() < deadline:
        down = next(d for d in webapp.json("GET", f"/api/incidents/{incident['id']}", user="hs-admin")["deliveries"]
                    if d["recipient"] == "webhook:down" and d["event"] == "declared")
        if down["attempts"] > 0 or not hook.bodies:  # no delivery worker: nothing is ever tried
            break
        time.sleep(0.5)
    assert down is not None and down["state"] != "delivered", down
    if down["attempts"] > 0:
        cells = "tr[data-recipient='webhook:down'][data-event='declared'] td"
        page.wait_for_function("([cells, n]) => { const td = document.querySelectorAll(cells);"
                               " return Number(td[3]?.textContent) >= n && td[4]?.textContent !== '—'; }",
                               arg=[cells, down["attempts"]], timeout=10_000)
        assert down["last_error"], down
        shown = page.locator(cells).nth(4).inner_text()
        assert shown and shown != "—", shown
    # Copy: to the clipboard.
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("status").filter(has_text="Copied to the clipboard.").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == mine["link_url"]
    # A browser that refuses the clipboard: the text is selected for Ctrl+C.
    page.evaluate("() => { navigator.clipboard.writeText = () => Promise.reject(new Error('denied')); }")
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("status").filter(has_text="press Ctrl+C").wait_for()
    selected = page.evaluate("() => { const e = document.activeElement;"
                             " return e.value.slice(e.selectionStart, e.selectionEnd); }")
    assert selected == mine["link_url"]
    # A viewer of the building sees the incident but not its link (who manages links does).
    viewer = webapp.json("GET", f"/api/incidents/{incident['id']}", user="hs-viewer")
    assert viewer["link_url"] is None
    check_axe(page)
    screenshot(page, "incident-link-deliveries-desktop")
    assert console.csp_violations() == []
    page.context.close()


def test_responder_link_on_a_phone_plays_live_and_lists_the_incidents_door_events(
        webapp: WebApp, browser: Browser) -> None:
    incident = _open_incident(webapp, "hs")
    url = webapp.json("GET", f"/api/incidents/{incident['id']}", user="hs-admin")["link_url"]
    status, body, _ = webapp.request("POST", "/api/plans?building=hs&floor=1", png_bytes(800, 500), "district",
                                     {"Content-Type": "image/png"})
    assert status == 201, body
    plan = json.loads(body)
    webapp.json("PUT", "/api/placements", {"plan": plan["id"], "kind": "camera", "item": "hs-east", "x": 300,
                                           "y": 200})
    before = _door_event(webapp, "inc-1", "r1", "door_forced_open")
    admin, _ = new_page(browser, "desktop")
    webapp.sign_in(admin, "hs-admin", f"#/incidents/{incident['id']}")
    admin.get_by_text("Nobody is watching through the link now.").wait_for()

    page, console = new_page(browser, "phone")
    page.goto(url)
    page.wait_for_url(f"{webapp.base}/#/map/hs")
    page.get_by_role("heading", name="High School", exact=True).wait_for()
    # Its own incident's banner, and the incident's door events, newest first.
    page.locator(f".incidents-banner [data-incident='{incident['id']}']").wait_for()
    panel = page.locator(".responder-incident")
    panel.get_by_role("heading", name="Door events of this incident").wait_for()
    panel.locator(f"[data-event='{before['id']}']").wait_for()
    assert "East Entrance Door" in panel.locator(f"[data-event='{before['id']}']").inner_text()
    # A new event arrives without a reload; the other building's never shows.
    later = _door_event(webapp, "inc-2", "r1", "access_denied")
    elsewhere = _door_event(webapp, "inc-3", "r2", "door_forced_open")
    panel.locator(f"[data-event='{later['id']}']").wait_for(timeout=10_000)
    order = panel.locator("[data-event]").evaluate_all("els => els.map(e => Number(e.dataset.event))")
    assert order[:2] == [later["id"], before["id"]], order
    assert elsewhere["id"] not in order
    assert "Front Office" not in page.content()
    check_axe(page)
    screenshot(page, "incident-responder-map-phone")
    # Live on the map: tap the camera.
    page.locator('[data-pin="camera:hs-east"]').tap()
    page.locator(".map-detail video[data-camera='hs-east']").wait_for()
    (stats,) = wait_decoding(page, 20.0)
    assert stats["camera"] == "hs-east"
    screenshot(page, "incident-responder-live-phone")
    # The admin sees who watches which camera, and what the link opened.
    admin.locator(".viewers [data-camera='hs-east']").wait_for(timeout=10_000)
    admin.locator(".link-activity .accesses li[data-action='live.view']").first.wait_for(timeout=10_000)
    assert "camera:hs-east" in admin.locator(".link-activity .accesses li[data-action='live.view']").first.inner_text()
    check_axe(admin)
    screenshot(admin, "incident-activity-desktop")
    assert console.csp_violations() == []
    page.context.close()
    admin.context.close()


def test_demo_drill_banner_is_marked_and_calmer(webapp: WebApp, browser: Browser) -> None:
    page, console = new_page(browser, "phone")
    webapp.sign_in(page, "ms-admin", "#/incidents")
    assert page.get_by_role("button", name="Declare drill").count() == 0  # not outside the demo
    page.get_by_role("button", name="Declare incident").click()
    dialog = page.get_by_role("dialog", name="Declare an incident")
    assert dialog.get_by_label("Building").input_value() == "ms"  # the only building ms-admin may declare in
    assert dialog.get_by_label("Front Office").is_visible()
    check_axe(page)
    screenshot(page, "incident-declare-phone")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    page.goto(webapp.base + "/?demo=1#/incidents")
    page.get_by_role("button", name="Declare drill").click()
    page.wait_for_url(re.compile(r"/\?demo=1#/incidents/\d+$"))
    drill = _open_incident(webapp, "ms", declare=False)
    assert (drill["reason"], drill["drill"], drill["declared_by"]) == ("Drill", True, "user:ms-admin")
    assert all(d["state"] in ("skipped", "pending") for d in drill["deliveries"]), drill["deliveries"]
    item = page.locator(f".incidents-banner [data-incident='{drill['id']}']")
    item.wait_for()
    assert item.inner_text().startswith("DRILL — not a real emergency"), item.inner_text()
    assert "drill" in (item.get_attribute("class") or "")
    assert item.evaluate("e => getComputedStyle(e).backgroundColor") != RED
    page.get_by_text("DRILL", exact=True).first.wait_for()  # the incident page says so too
    check_axe(page)
    screenshot(page, "incident-drill-phone")
    # A district admin sees both, the real one red and the drill not.
    district, _ = new_page(browser, "desktop")
    webapp.sign_in(district, "district", "#/incidents")
    district.locator(f".incidents-banner [data-incident='{drill['id']}']").wait_for()
    hs = _open_incident(webapp, "hs")
    banner = district.locator(f".incidents-banner [data-incident='{hs['id']}']")
    assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == RED
    # The list: open first.
    cards = district.locator(".incident-list-page [data-incident]")
    cards.first.wait_for()
    check_axe(district)
    screenshot(district, "incident-list-desktop")
    # End the drill so the rest of the module has one open incident per building at most.
    webapp.json("POST", f"/api/incidents/{drill['id']}/end", {"note": "drill done"}, user="ms-admin")
    assert console.csp_violations() == []
    page.context.close()
    district.context.close()


def test_end_with_a_note_then_the_report(webapp: WebApp, browser: Browser) -> None:
    incident = _open_incident(webapp, "hs")
    page, console = new_page(browser, "desktop")
    webapp.sign_in(page, "hs-admin", f"#/incidents/{incident['id']}")
    page.locator(f".incidents-banner [data-incident='{incident['id']}']").wait_for()
    end = page.get_by_role("button", name="End incident…")
    end.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"End incident {incident['id']}")
    dialog.wait_for()
    assert page.evaluate("() => document.activeElement.id") == "end-note"
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate("() => document.activeElement?.textContent?.trim()") == "End incident…"
    page.keyboard.press("Enter")
    dialog.wait_for()
    # The note is required: the browser refuses the empty form, nothing is sent.
    dialog.get_by_role("button", name="End incident").click()
    assert _open_incident(webapp, "hs", declare=False)["id"] == incident["id"]
    dialog.get_by_label("What happened (required)").fill("Door secured; police on site at 10:40.")
    dialog.get_by_label("East Entrance").check()
    check_axe(page)
    screenshot(page, "incident-end-desktop")
    with page.expect_response(lambda r: r.url.endswith(f"/api/incidents/{incident['id']}/end")) as ended:
        dialog.get_by_role("button", name="End incident").click()
    assert ended.value.status == 200, ended.value.text()
    body = ended.value.json()
    assert (body["state"], body["end_note"], body["report_cameras"]) == (
        "ended", "Door secured; police on site at 10:40.", ["hs-east"])
    page.locator(".incident-page[data-state='ended']").wait_for()
    page.wait_for_function("() => document.activeElement?.id === 'report-title'")  # focus is not lost
    page.locator(f".incidents-banner [data-incident='{incident['id']}']").wait_for(state="detached")
    assert page.get_by_label("Responder link (valid while the incident is open)").count() == 0
    # The report: its export appears once the appliance made it, then its download.
    page.locator(".incident-report, [role=status]:has-text('The incident report is being prepared')").first.wait_for()
    deadline = time.monotonic() + 60
    export_id = None
    while export_id is None and time.monotonic() < deadline:
        export_id = webapp.json("GET", f"/api/incidents/{incident['id']}", user="hs-admin")["report_export_id"]
        time.sleep(0.5)
    if export_id is None:
        pytest.fail("no report export within 60 s (the report part is not running)")
    report = page.locator(f".incident-report[data-export='{export_id}']")
    report.wait_for(timeout=10_000)
    download = report.get_by_role("link", name="Download the report")
    download.wait_for(timeout=90_000)
    status = webapp.json("GET", f"/api/exports/{export_id}", user="hs-admin")
    assert status["state"] == "done" and download.get_attribute("href") == status["download"]
    check_axe(page)
    screenshot(page, "incident-ended-report-desktop")
    assert console.csp_violations() == []
    page.context.close()


def test_the_demo_offers_a_one_click_drill(tmp_path: Path, browser: Browser) -> None:
    """`vigil demo` as the README runs it: the address it prints opens the app with "Declare drill" on
    the map; one click declares a drill of the demo building and its banner says DRILL."""
    env = dict(os.environ, PYTHONPATH=str(DAEMON_DIR))
    demo = subprocess.Popen([sys.executable, "-m", "vigil", "demo", "--data", str(tmp_path / "demo"), "--duration",
                             "120", "--http-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    try:
        assert demo.stdout is not None
        opened = None
        for line in demo.stdout:
            opened = re.search(r"open (https://\S+/\?demo=1) .* sign in as demo / (\S+)", line)
            if opened is not None:
                break
        assert opened is not None, "the demo never printed where to open the app"
        assert "Declare drill" in demo.stdout.readline()  # the next line says where incident mode is
        url, password = opened.groups()
        page, console = new_page(browser, "desktop")
        page.goto(url)
        page.get_by_label("User name").fill("demo")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.locator(".plan-map").wait_for()  # the home page: the campus map
        with page.expect_response(lambda r: r.url.endswith("/api/incidents") and r.request.method == "POST") as posted:
            page.get_by_role("button", name="Declare drill").click()
        assert posted.value.status == 201, posted.value.text()
        drill = posted.value.json()["incident"]
        assert (drill["building"], drill["reason"], drill["drill"]) == ("demo", "Drill", True)
        page.wait_for_url(re.compile(rf"/\?demo=1#/incidents/{drill['id']}$"))
        banner = page.locator(f".incidents-banner [data-incident='{drill['id']}']")
        banner.wait_for()
        assert banner.inner_text().startswith("DRILL — not a real emergency")
        assert "Demo Building" in banner.inner_text()
        screenshot(page, "demo-drill-desktop")
        assert console.csp_violations() == []
        page.context.close()
    finally:
        demo.terminate()
        demo.wait(30)
