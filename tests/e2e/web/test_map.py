"""The map page in Chromium against the daemon with simulated cameras: a building without a plan
lists its cameras; a plan is uploaded (an SVG is refused with the server's message), a camera is
placed and dragged, and after a reload it is where it was left; its aiming handle turns it; a click
on it plays the camera live in place (frames decode); a door pin shows its last event and lists
its recent events with links to the timeline at each moment; a building admin sees nothing of the
other building; axe is clean and screenshots are written at both sizes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, FloatRect, Locator, Page

from tests.support.browser import wait_decoding
from tests.support.netns import requires_test_namespace
from tests.support.plan_images import SVG, png_bytes
from tests.support.vigil_proc import run_vigil, vigil_stdin
from tests.support.webapp import PASSWORD, PHONE, WebApp, check_axe, new_page, running_webapp, screenshot
from vigil.core.timebase import wall_ns_to_iso

pytestmark = requires_test_namespace

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


@pytest.fixture(scope="module")
def webapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The foundation's web app with a door in each building and an access-control account."""
    with running_webapp(tmp_path_factory.mktemp("webapp-map"), DOORS) as app:
        added = vigil_stdin(PASSWORD + "\n", "user", "add", "lenel", "--role", "door_system", "--password-stdin",
                            "--config", str(app.config))
        assert added.returncode == 0, added.stderr
        yield app


def _door_event(app: WebApp, event_id: str, reader: str, kind: str, occurred_ns: int) -> dict[str, Any]:
    token = run_vigil("token", "create", "lenel", "--config", str(app.config)).stdout.strip()
    status, body, _ = app.request("POST", "/api/door-events", {
        "source": "lenel", "event_id": event_id, "kind": kind, "occurred_at": wall_ns_to_iso(occurred_ns),
        "access_point": reader, "reason": "badge revoked"}, headers={"Authorization": f"Bearer {token}"})
    assert status == 201, body
    return dict(json.loads(body))


def _upload(app: WebApp, building: str, floor: str, width: int = 800, height: int = 500) -> dict[str, Any]:
    status, body, _ = app.request("POST", f"/api/plans?building={building}&floor={floor}", png_bytes(width, height),
                                  "district", {"Content-Type": "image/png"})
    assert status == 201, body
    return dict(json.loads(body))


def _pin_center(page: Page, key: str) -> tuple[float, float]:
    """The pin's centre on screen, once the page has drawn it again after a change."""
    page.wait_for_load_state("networkidle")
    box = _box(page, page.locator(f'[data-pin="{key}"]'))
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _box(page: Page, target: Locator) -> FloatRect:
    """Where `target` is on screen; the map may draw its pins anew between a wait and a measure."""
    for _ in range(50):
        target.wait_for(state="visible")
        box = target.bounding_box()
        if box is not None:
            return box
        page.wait_for_timeout(100)
    raise AssertionError(f"{target} has no box")


def _drag(page: Page, start: tuple[float, float], dx: float, dy: float) -> None:
    with page.expect_response(lambda r: r.url.endswith("/api/placements") and r.request.method == "PUT") as put:
        page.mouse.move(*start)
        page.mouse.down()
        for i in range(1, 11):
            page.mouse.move(start[0] + dx * i / 10, start[1] + dy * i / 10)
        page.mouse.up()
    assert put.value.status == 200, put.value.text()


def _placements(app: WebApp, plan_id: int, user: str = "district") -> dict[str, dict[str, Any]]:
    return {p["item"]: p for p in app.json("GET", f"/api/placements?plan={plan_id}", user=user)}


def test_upload_place_drag_reload_aim_and_watch(webapp: WebApp, browser: Browser) -> None:
    page, console = new_page(browser, "desktop")
    webapp.sign_in(page, "hs-admin", "#/map/hs")
    # No plan yet: the building's cameras as a list.
    page.get_by_text("This building has no floor plan yet.").wait_for()
    assert sorted(page.locator(".map-list [data-camera]").evaluate_all("els => els.map(e => e.dataset.camera)")) == [
        "hs-east", "hs-gym"]
    check_axe(page)
    screenshot(page, "map-no-plan-desktop")
    # An SVG is refused with the appliance's own words, and nothing is stored.
    page.get_by_label("Plan image (PNG or JPEG, up to 8 MiB)").set_input_files(
        files=FilePayload(name="plan.svg", mimeType="image/svg+xml", buffer=SVG))
    page.get_by_label("Floor name").fill("1")
    page.get_by_role("button", name="Upload plan").click()
    assert "must be a PNG or JPEG image" in page.get_by_role("alert").inner_text()
    assert webapp.json("GET", "/api/plans?building=hs", user="hs-admin") == []
    # A PNG is taken; the map shows it.
    page.get_by_label("Plan image (PNG or JPEG, up to 8 MiB)").set_input_files(
        files=FilePayload(name="ground.png", mimeType="image/png", buffer=png_bytes(800, 500)))
    page.get_by_role("button", name="Upload plan").click()
    page.locator(".plan-map img.leaflet-image-layer").wait_for()
    plan = webapp.json("GET", "/api/plans?building=hs", user="hs-admin")[0]
    assert page.locator(".plan-map img.leaflet-image-layer").evaluate("img => img.complete && img.naturalWidth") == 800
    # Place East Entrance (at the plan's centre), then drag it 120 px right and 60 px down.
    page.get_by_label("Not on this plan yet").select_option(label="East Entrance (camera)")
    page.get_by_role("button", name="Place on plan").click()
    pin = page.locator('[data-pin="camera:hs-east"]')
    pin.wait_for()
    assert _placements(webapp, plan["id"])["hs-east"]["x"] == 400
    _drag(page, _pin_center(page, "camera:hs-east"), 120, 60)
    moved = _placements(webapp, plan["id"])["hs-east"]
    assert moved["x"] > 440 and moved["y"] > 270, moved  # the plan is shown smaller than 1:1
    left_at = _pin_center(page, "camera:hs-east")
    # Reload: the pin is where it was left.
    page.reload()
    page.locator('[data-pin="camera:hs-east"]').wait_for()
    again = _pin_center(page, "camera:hs-east")
    assert abs(again[0] - left_at[0]) < 2 and abs(again[1] - left_at[1]) < 2, (left_at, again)
    # Select it: live video in place (frames decode), and the aiming handle turns it to face right.
    page.locator('[data-pin="camera:hs-east"]').click()
    page.locator(".map-detail video[data-camera='hs-east']").wait_for()
    first = wait_decoding(page, 20)[0]["framesDecoded"]
    time.sleep(1.0)
    assert wait_decoding(page, 5)[0]["framesDecoded"] > first + 5, "frames advance"
    handle = _box(page, page.locator('[data-aim="camera:hs-east"]'))
    center = _pin_center(page, "camera:hs-east")
    _drag(page, (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2),
          center[0] + 150 - (handle["x"] + handle["width"] / 2), center[1] - (handle["y"] + handle["height"] / 2))
    aimed = _placements(webapp, plan["id"])["hs-east"]
    assert 80 <= aimed["rotation_deg"] <= 100, aimed  # clockwise from up: right is 90
    check_axe(page)
    screenshot(page, "map-camera-live-desktop")
    # The keyboard's way: the same pin's numbers.
    page.get_by_label("x (pixels)").fill("100")
    page.get_by_label("y (pixels)").fill("120")
    with page.expect_response(lambda r: r.url.endswith("/api/placements") and r.request.method == "PUT"):
        page.get_by_role("button", name="Save position").click()
    typed = _placements(webapp, plan["id"])["hs-east"]
    assert (typed["x"], typed["y"], typed["rotation_deg"]) == (100, 120, aimed["rotation_deg"])  # the aim is kept
    actions = [e["action"] for e in webapp.json("GET", "/api/audit?actor=user:hs-admin")]
    assert "plan.create" in actions and actions.count("placement.set") >= 4
    assert console.csp_violations() == []
    page.context.close()


def test_door_pin_last_state_and_recent_events(webapp: WebApp, browser: Browser) -> None:
    plan = _upload(webapp, "hs", "2")
    webapp.json("PUT", "/api/placements", {"plan": plan["id"], "kind": "door", "item": "hs-east-door", "x": 300,
                                           "y": 200})
    occurred_ns = (time.time_ns() - 120 * 10**9) // 1_000_000 * 1_000_000
    event = _door_event(webapp, "ev-1", "r1", "access_denied", occurred_ns)
    page, _ = new_page(browser, "desktop")
    webapp.sign_in(page, "hs-viewer", "#/map/hs/2")
    pin = page.locator('[data-pin="door:hs-east-door"]')
    pin.wait_for()
    assert "access denied" in (pin.get_attribute("aria-label") or "")
    assert "alert" in (pin.get_attribute("class") or "")  # a flagged last event: the pin is red
    pin.focus()  # pins are buttons in the tab order: Enter selects one
    page.keyboard.press("Enter")
    row = page.locator(f'.door-events [data-event="{event["id"]}"]')
    row.wait_for()
    link = row.get_by_role("link", name="Video at that moment").get_attribute("href")
    assert link == f"#/timeline?cameras=hs-east&t={occurred_ns // 1_000_000}"
    assert page.get_by_role("button", name="Save position").count() == 0  # a viewer cannot move pins
    check_axe(page)
    screenshot(page, "map-door-desktop")
    page.context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_building_admin_sees_nothing_of_the_other_building(webapp: WebApp, browser: Browser, size: str) -> None:
    ms_plan = _upload(webapp, "ms", f"g-{size}")
    webapp.json("PUT", "/api/placements", {"plan": ms_plan["id"], "kind": "camera", "item": "ms-front", "x": 10,
                                           "y": 10})
    if not any(p["building"] is None for p in webapp.json("GET", "/api/plans")):
        campus = webapp.request("POST", "/api/plans?name=Campus", png_bytes(900, 600), "district",
                                {"Content-Type": "image/png"})
        assert campus[0] == 201, campus
    campus_id = next(p["id"] for p in webapp.json("GET", "/api/plans") if p["building"] is None)
    for building, x in (("hs", 200), ("ms", 600)):
        webapp.json("PUT", "/api/placements", {"plan": campus_id, "kind": "building", "item": building, "x": x,
                                               "y": 300})
    page, console = new_page(browser, size)
    webapp.sign_in(page, "hs-admin", "#/")
    page.locator('[data-pin="building:hs"]').wait_for()
    assert page.locator('[data-pin="building:ms"]').count() == 0
    check_axe(page)
    screenshot(page, f"map-campus-{size}")
    for path in ("#/", "#/map/ms", f"#/map/ms/g-{size}", "#/map/hs"):
        page.goto(webapp.base + "/" + path)
        page.locator(".map-page h1").wait_for()
        page.wait_for_load_state("networkidle")
        text = page.content()
        for secret in ("Middle School", "Front Office", "ms-front", f"g-{size}"):
            assert secret not in text, (path, secret)
    # The pins are where a phone can tap them: the building pin opens the building.
    page.goto(webapp.base + "/#/")
    page.locator('[data-pin="building:hs"]').click()
    page.wait_for_url("**/#/map/hs")
    # At the API too: the plan is not listed, its image is refused, its pins are not listed.
    assert ms_plan["id"] not in [p["id"] for p in webapp.json("GET", "/api/plans", user="hs-admin")]
    assert webapp.request("GET", ms_plan["image"], user="hs-admin")[0] == 403
    assert all(p["item"] != "ms-front" for p in webapp.json("GET", "/api/placements", user="hs-admin"))
    assert all(d["building"] == "hs" for d in webapp.json("GET", "/api/doors", user="hs-admin"))
    assert console.csp_violations() == []
    page.context.close()


def test_phone_tap_plays_live_in_place(webapp: WebApp, browser: Browser) -> None:
    plan = _upload(webapp, "hs", "3", 600, 900)
    webapp.json("PUT", "/api/placements", {"plan": plan["id"], "kind": "camera", "item": "hs-gym", "x": 300,
                                           "y": 450, "rotation_deg": 200})
    page, console = new_page(browser, "phone")
    webapp.sign_in(page, "hs-viewer", "#/map/hs/3")
    page.locator('[data-pin="camera:hs-gym"]').tap()
    page.locator(".map-detail video[data-camera='hs-gym']").wait_for()
    first = wait_decoding(page, 20)[0]["framesDecoded"]
    time.sleep(1.0)
    assert wait_decoding(page, 5)[0]["framesDecoded"] > first + 5, "frames advance"
    assert page.locator(".map-detail").evaluate("e => e.getBoundingClientRect().top < window.innerHeight")
    assert page.get_by_label("x (pixels)").count() == 0  # a viewer places nothing
    check_axe(page)
    screenshot(page, "map-camera-live-phone")
    assert console.csp_violations() == []
    page.context.close()


def test_responder_link_to_one_camera_sees_only_that_pin(webapp: WebApp, browser: Browser) -> None:
    plan = _upload(webapp, "hs", "L")
    for camera, x in (("hs-gym", 200), ("hs-east", 500)):
        webapp.json("PUT", "/api/placements", {"plan": plan["id"], "kind": "camera", "item": camera, "x": x,
                                               "y": 250})
    token = webapp.link("--camera", "hs-gym").rsplit("/", 1)[1]
    context = browser.new_context(ignore_https_errors=True, viewport=PHONE, is_mobile=True, has_touch=True,
                                  device_scale_factor=2, extra_http_headers={"Authorization": f"Bearer {token}"})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{webapp.base}/#/map/hs/L")
    page.locator('[data-pin="camera:hs-gym"]').tap()
    wait_decoding(page, 20)
    assert page.locator('[data-pin="camera:hs-east"]').count() == 0
    text = page.content()
    assert "East Entrance" not in text and "Middle School" not in text
    status, body, _ = webapp.request("GET", f"/api/placements?plan={plan['id']}",
                                     headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and [p["item"] for p in json.loads(body)] == ["hs-gym"]
    context.close()
