"""The live wall, the one-camera live page, the responder's landing and the door-alert banner in
Chromium against the real daemon: a wall of 4 decodes with the substream where there is one and is
saved as the user's view; a responder link on a phone lands on the app's map scoped to the link
and plays live, and nothing outside its scope shows in the UI or answers at the API; a flagged
door event shows as a banner (sound off) and its one-click acknowledgement is audited; a building
admin of one building sees nothing of the other on these pages; axe and screenshots at both sizes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import peer_stats, wait_decoding
from tests.support.netns import requires_test_namespace
from tests.support.vigil_proc import vigil_stdin
from tests.support.webapp import PASSWORD, WebApp, check_axe, new_page, running_webapp, screenshot
from vigil.core.timebase import wall_ns_to_iso

pytestmark = requires_test_namespace

DOORS = """
[[doors]]
id = "hs-front"
name = "High School Front Door"
building = "hs"
cameras = ["hs-east"]
access_points = [{ source = "lenel", id = "reader-1" }]
[[doors]]
id = "ms-front"
name = "Middle School Front Door"
building = "ms"
cameras = ["ms-front"]
access_points = [{ source = "lenel", id = "reader-2" }]
"""
OTHER_BUILDING = ("Middle School", "Front Office", "ms-front")


@pytest.fixture(scope="module")
def webapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The foundation's web app with two doors (one per building) and an access-control account."""
    with running_webapp(tmp_path_factory.mktemp("wall"), extra_config=DOORS) as app:
        added = vigil_stdin(PASSWORD + "\n", "user", "add", "lenel", "--role", "door_system", "--password-stdin",
                            "--config", str(app.config))
        assert added.returncode == 0, added.stderr
        yield app


def shows_nothing_of_the_other_building(page: Page) -> None:
    text = page.content()
    for name in OTHER_BUILDING:
        assert name not in text, name


def decoding(page: Page, camera: str) -> dict[str, Any]:
    (stats,) = [s for s in peer_stats(page) if s["camera"] == camera and s["state"] == "connected"]
    return stats


def test_wall_of_four_decodes_with_the_substream_and_is_saved(webapp: WebApp, browser: Browser) -> None:
    page, console = new_page(browser, "desktop")
    webapp.sign_in(page, "district", "#/wall")
    page.get_by_role("list", name="Wall of 4").wait_for()
    # An unsaved wall of 4 shows the cameras the caller may see; three cameras fill three tiles.
    wait_decoding(page, 20.0, count=3)
    east, gym = decoding(page, "hs-east"), decoding(page, "hs-gym")
    assert (east["quality"], east["width"], east["height"]) == ("sub", 320, 180)  # East Entrance has a substream
    assert (gym["quality"], gym["width"], gym["height"]) == ("main", 640, 360)  # Gym Lobby has none
    frames = east["framesDecoded"]
    time.sleep(1.0)
    assert decoding(page, "hs-east")["framesDecoded"] >= frames + 8  # ~15 fps keeps coming
    check_axe(page)
    screenshot(page, "wall-desktop")

    # Save it as a view, with the Gym Lobby moved to the first tile of a wall of 9.
    page.get_by_role("button", name="9 cameras").click()
    page.get_by_role("button", name="Choose cameras").click()
    page.get_by_label("Tile 1", exact=True).select_option("hs-gym")
    page.get_by_label("View name").fill("Front doors")
    page.get_by_role("button", name="Save view").click()
    page.get_by_role("status").filter(has_text="Saved “Front doors”").wait_for()
    (view,) = webapp.json("GET", "/api/views", user="district")
    assert (view["name"], view["layout"], view["cameras"]) == ("Front doors", 9, ["hs-gym", None, "ms-front"])
    assert page.url.endswith(f"#/wall/{view['id']}")
    page.reload()
    page.get_by_role("list", name="Wall of 9").wait_for()
    page.get_by_role("heading", name="Front doors").wait_for()
    wait_decoding(page, 20.0, count=2)
    assert decoding(page, "hs-gym")["quality"] == "main" and decoding(page, "ms-front")["quality"] == "main"
    entries = webapp.json("GET", "/api/audit?action=view.create", user="district")
    assert [(e["actor"], e["target"]) for e in entries] == [("user:district", f"view:{view['id']}")]
    # ...and deleted from the page.
    page.get_by_role("button", name="Delete view").click()
    page.get_by_role("status").filter(has_text="Deleted “Front doors”").wait_for()
    assert webapp.json("GET", "/api/views", user="district") == []
    assert console.csp_violations() == []
    page.context.close()


def test_wall_on_a_phone_and_a_building_admin_sees_only_their_building(webapp: WebApp, browser: Browser) -> None:
    page, console = new_page(browser, "phone")
    webapp.sign_in(page, "hs-admin", "#/wall")
    page.get_by_role("list", name="Wall of 4").wait_for()
    wait_decoding(page, 20.0, count=2)
    assert sorted(s["camera"] for s in peer_stats(page) if s["state"] == "connected") == ["hs-east", "hs-gym"]
    page.get_by_role("button", name="Choose cameras").click()
    options = page.get_by_label("Tile 1", exact=True).locator("option").all_inner_texts()
    assert options == ["(empty)", "East Entrance", "Gym Lobby"]
    shows_nothing_of_the_other_building(page)
    check_axe(page)
    screenshot(page, "wall-phone")
    # The appliance refuses a view naming the other building's camera, and a view saved by the
    # district admin is not the building admin's to see.
    status, body, _ = webapp.request("POST", "/api/views", {"name": "x", "layout": 4, "cameras": ["ms-front"]},
                                     user="hs-admin")
    assert status == 403, body
    theirs = webapp.json("POST", "/api/views", {"name": "campus", "layout": 4, "cameras": ["ms-front"]})
    page.goto(f"{webapp.base}/#/wall/{theirs['id']}")
    page.get_by_role("alert").filter(has_text=f"no saved view {theirs['id']}").wait_for()
    shows_nothing_of_the_other_building(page)
    assert console.csp_violations() == []
    page.context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_live_page_plays_one_camera(webapp: WebApp, browser: Browser, size: str) -> None:
    page, console = new_page(browser, size)
    webapp.sign_in(page, "hs-viewer", "#/live/hs-east")
    page.get_by_role("heading", name="East Entrance").wait_for()
    (stats,) = wait_decoding(page, 20.0)
    # A phone gets the substream, a desktop the main stream; the button switches.
    assert (stats["camera"], stats["quality"]) == ("hs-east", "sub" if size == "phone" else "main")
    check_axe(page)
    screenshot(page, f"live-{size}")
    other = "Use the main stream (full picture)" if size == "phone" else "Use the substream (less data)"
    page.get_by_role("button", name=other).click()
    deadline = time.monotonic() + 20
    while not [s for s in peer_stats(page) if s["state"] == "connected" and s["framesDecoded"] > 0
               and s["quality"] != stats["quality"]]:
        assert time.monotonic() < deadline, peer_stats(page)
        time.sleep(0.1)
    page.goto(f"{webapp.base}/#/live/ms-front")
    page.get_by_role("alert").filter(has_text="no camera “ms-front” that you may watch").wait_for()
    assert "Front Office" not in page.content()
    assert console.csp_violations() == []
    page.context.close()


def test_responder_link_on_a_phone(webapp: WebApp, browser: Browser) -> None:
    url = webapp.link("--building", "hs", "--expires", "2h")
    page, console = new_page(browser, "phone")
    page.goto(url)
    assert page.url == f"{webapp.base}/#/map/hs"  # the landing went on to its building's map; the token left the URL
    banner = page.get_by_role("status").filter(has_text="Responder view")
    banner.wait_for()
    assert "access ends in 1 h 59 min" in banner.inner_text() or "access ends in 2 h 0 min" in banner.inner_text()
    assert "Sign out" not in page.content()  # no account here
    if page.get_by_role("navigation", name="Main").get_by_role("link", name="Map").count():
        page.get_by_text("High School").first.wait_for()  # the map page (r14/map) shows the link's building
    shows_nothing_of_the_other_building(page)
    check_axe(page)
    screenshot(page, "responder-landing-phone")
    # The live view is a tap away: the Cameras list, then Watch live.
    page.get_by_role("link", name="Cameras").click()
    page.locator("[data-camera=hs-east]").get_by_role("link", name="Watch live").click()
    page.get_by_role("heading", name="East Entrance").wait_for()
    (stats,) = wait_decoding(page, 20.0)
    assert stats["camera"] == "hs-east"
    shows_nothing_of_the_other_building(page)
    check_axe(page)
    screenshot(page, "responder-live-phone")
    # Outside the scope: nothing in the UI, and the API (with the link's cookie) refuses or omits it.
    page.goto(f"{webapp.base}/#/live/ms-front")
    page.get_by_role("alert").filter(has_text="no camera “ms-front”").wait_for()
    answers = page.evaluate("""async () => {
        const get = async (p) => { const r = await fetch(p); return [r.status, await r.text()]; };
        return {cameras: await get("/api/cameras"), buildings: await get("/api/buildings"),
                snapshot: (await get("/api/cameras/ms-front/snapshot.jpg"))[0],
                ice: (await get("/api/cameras/ms-front/ice-servers"))[0], views: (await get("/api/views"))[0]};
    }""")
    assert [c["id"] for c in json.loads(answers["cameras"][1])] == ["hs-east", "hs-gym"]
    assert [b["id"] for b in json.loads(answers["buildings"][1])] == ["hs"]
    assert (answers["snapshot"], answers["ice"], answers["views"]) == (403, 403, 403)
    # A responder's wall holds the link's cameras, unsaved.
    page.goto(f"{webapp.base}/#/wall")
    page.get_by_role("list", name="Wall of 4").wait_for()
    assert page.get_by_label("View name").count() == 0
    wait_decoding(page, 20.0, count=2)
    shows_nothing_of_the_other_building(page)
    # Revoked, the link opens a page that says so (not a JSON problem), and the cookie no longer works.
    link_id = json.loads(page.evaluate("async () => (await fetch('/api/me')).text()"))["link_id"]
    webapp.json("DELETE", f"/api/links/{link_id}")
    page.goto(url)
    page.get_by_role("heading", name="This link does not open").wait_for()
    assert "Ask whoever sent it for a new one" in page.content()
    check_axe(page)
    screenshot(page, "responder-ended-phone")
    assert page.evaluate("async () => (await fetch('/api/cameras')).status") == 401
    assert console.csp_violations() == []
    page.context.close()


def _post_door_event(webapp: WebApp, event_id: str, reader: str) -> int:
    body = {"source": "lenel", "event_id": event_id, "kind": "access_denied",
            "occurred_at": wall_ns_to_iso(time.time_ns() // 1_000_000 * 1_000_000), "access_point": reader,
            "reason": "badge revoked"}
    status, answer, _ = webapp.request("POST", "/api/door-events", body, user="lenel")
    assert status == 201, answer
    posted = json.loads(answer)
    assert posted["flagged"] is True
    return int(posted["id"])


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_flagged_door_event_shows_as_a_banner_and_its_ack_is_audited(webapp: WebApp, browser: Browser,
                                                                       size: str) -> None:
    page, console = new_page(browser, size)
    webapp.sign_in(page, "hs-admin", "#/cameras")
    alerts = page.get_by_role("region", name="Door alerts")
    page.locator("section.alerts[data-connected=yes]").wait_for()
    assert alerts.get_by_role("button", name="Sound off").get_attribute("aria-pressed") == "false"  # off by default
    # Count the tones the page makes (through DevTools: the page's CSP stays in force).
    page.evaluate("""() => { window.tones = 0; const make = AudioContext.prototype.createOscillator;
        AudioContext.prototype.createOscillator = function () { window.tones++; return make.call(this); }; }""")
    sound = size == "desktop"  # the desktop turns it on; the phone keeps the default
    if sound:
        alerts.get_by_role("button", name="Sound off").click()
        assert alerts.get_by_role("button", name="Sound on").get_attribute("aria-pressed") == "true"
        assert page.evaluate("localStorage.getItem('vigil-alert-sound')") == "on"
    other = _post_door_event(webapp, f"ms-{size}", "reader-2")  # the other building's: never shown here
    mine = _post_door_event(webapp, f"hs-{size}", "reader-1")
    item = page.locator(f"[data-door-event='{mine}']")
    item.wait_for()
    assert "access denied at High School Front Door" in item.inner_text()  # the door's name, not its id
    assert "badge revoked" in item.inner_text()
    time.sleep(0.5)
    assert page.locator("[data-door-event]").count() == 1 and page.locator(f"[data-door-event='{other}']").count() == 0
    assert page.evaluate("window.tones") == (1 if sound else 0)  # one tone for the one alert shown, if on
    assert item.get_by_role("link", name="Watch the moment").get_attribute("href", timeout=1000).startswith(  # type: ignore[union-attr]
        "#/timeline?cameras=hs-east&t=")
    shows_nothing_of_the_other_building(page)
    check_axe(page)
    screenshot(page, f"alert-banner-{size}")
    item.get_by_role("button", name="Acknowledge").click()
    item.wait_for(state="detached")
    assert "No door alerts" in alerts.inner_text()
    acks = webapp.json("GET", "/api/audit?action=door_event.ack", user="district")
    assert [(e["actor"], e["target"], e["outcome"]) for e in acks][-1] == ("user:hs-admin", f"door_event:{mine}", "ok")
    events = webapp.json("GET", f"/api/door-events?door=hs-front&start={int(time.time()) - 600}", user="district")
    assert [e["acked_by"] for e in events["events"] if e["id"] == mine] == ["user:hs-admin"]
    assert console.csp_violations() == []
    page.context.close()
