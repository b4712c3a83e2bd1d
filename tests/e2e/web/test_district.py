"""The district in Chromium (issue 17): a real `vigil hub run` and two appliances recording simulated
cameras, enrolled through `vigil hub enroll` + `vigil district enroll`, their messages carried by
real mosquitto bridges to the hub's broker. A district user signs in once at the hub, opens live
video of a camera at site 1 (frames advance) and playback at site 2 (the timeline plays) without
signing in again; a token for site 1 is refused by site 2; after `vigil hub user disable` the next
token request fails. The hub's pages: axe-clean and screenshots at a phone and a desktop size."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Locator, Page

from tests.support.browser import peer_stats, wait_decoding
from tests.support.camsim import CameraServer
from tests.support.district_web import (
    PASSWORD,
    Hub,
    HubSession,
    Site,
    call,
    running_hub,
    running_site,
    wait_recording,
)
from tests.support.netns import requires_test_namespace
from tests.support.vigil_proc import wait_for
from tests.support.webapp import check_axe, new_page, screenshot

pytestmark = [requires_test_namespace, pytest.mark.slow]
# The site cards' buildings and cameras are the inventories the sites publish, which the hub's ingest
# (hub-events, issue 17) stores: without it there is nothing to open.
pytest.importorskip("vigil.hub.ingest", reason="the hub's ingest (vigil.hub.ingest) is not in this tree")

SPECS = ("name=north,width=640,height=360,fps=15,gop=15,bitrate=500,clock=1,pattern=ball",
         "name=south,width=640,height=360,fps=15,gop=15,bitrate=500,clock=1")
USER = "dora"  # signs in, opens video, is disabled at the end
PAGES_USER = "ada"  # looks at the hub's pages
VIEWER = "vic"  # a viewer of North High only
HUB_NAME = "Test District"


@dataclass
class District:
    hub: Hub
    north: Site
    south: Site


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    tmp = tmp_path_factory.mktemp("district")
    with CameraServer(*SPECS) as cams, running_hub(tmp) as hub:
        hub.add_user(USER, "district_admin")
        hub.add_user(PAGES_USER, "district_admin")
        hub.add_user(VIEWER, "viewer", "north-campus/nhs")
        with running_site(tmp / "north", hub, cams, "north-campus", "North Campus", {"nhs": "North High"},
                          {"nhs-door": ("nhs", "North Door", "north")}) as north, \
             running_site(tmp / "south", hub, cams, "south-campus", "South Campus", {"sms": "South Middle"},
                          {"sms-gym": ("sms", "South Gym", "south")}) as south:
            admin = HubSession(hub.base, USER, PASSWORD)

            def inventories() -> bool:
                status, answer = admin.get("/api/sites")
                assert status == 200, answer
                sites = {s["id"]: s for s in answer["sites"]}
                return all((sites.get(s.id) or {}).get("inventory") and sites[s.id]["reachability"] == "reachable"
                           for s in (north, south))
            wait_for(inventories, 60, "both sites' inventories at the hub", interval_s=1.0)
            yield District(hub, north, south)


def hub_sign_in(page: Page, hub: Hub, user: str = USER) -> None:
    page.goto(hub.base + "/")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def site_card(page: Page, name: str) -> Locator:
    return page.locator("li.site-card").filter(has=page.get_by_role("heading", name=name, exact=True))


def test_sign_in_once_then_live_at_one_site_and_playback_at_another(district: District, browser: Browser) -> None:
    hub, north, south = district.hub, district.north, district.south
    page, console = new_page(browser, "desktop")
    # A wrong password is said so, and nothing else happens.
    page.goto(hub.base + "/")
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    hub_sign_in(page, hub)
    card = site_card(page, "North Campus")
    card.get_by_text("Reachable").wait_for()
    assert "1/1 up" in card.inner_text() or "Cameras" in card.inner_text()

    # Live at North: the camera's "Live" leaves for the appliance, which signs in with the token.
    row = card.locator("li[data-camera='nhs-door']")
    row.get_by_role("button", name="Live").click()
    page.wait_for_url(f"{north.base}/#/live/nhs-door", timeout=20_000)
    assert "token=" not in page.url
    page.get_by_role("heading", name="North Door").wait_for()
    page.get_by_text(f"Signed in through {HUB_NAME}").wait_for()
    (first,) = wait_decoding(page, 20.0)
    time.sleep(1.5)
    (later,) = [s for s in peer_stats(page) if s["state"] == "connected"]
    assert later["framesDecoded"] > first["framesDecoded"], (first, later)  # the video plays
    # The session ends with the token unless renewed: the page renews it (the appliance asks the hub).
    with page.expect_response(lambda r: r.url == f"{north.base}/api/district/renew", timeout=30_000) as renewed:
        pass
    assert renewed.value.status == 200, renewed.value.text()
    assert wait_decoding(page, 5.0)  # still playing
    # The link with the token left no entry in history: one step back is the hub.
    page.go_back()
    page.wait_for_url(hub.base + "/")

    # Playback at South, from the hub again: no password asked. The timeline opens at the last
    # minute: once South has recorded more than that.
    wait_recording_at(district, south, 75)
    page.goto(hub.base + "/")
    site_card(page, "South Campus").locator("li[data-camera='sms-gym']").get_by_role("button", name="Playback").click()
    page.wait_for_url(f"{south.base}/#/timeline?cameras=sms-gym", timeout=20_000)
    page.wait_for_function("() => window.vigilTimeline && window.vigilTimeline.ready()", timeout=30_000)
    page.get_by_role("button", name="Play").click()
    shown = page.evaluate("() => window.vigilTimeline.wallTimes()[0]")
    assert shown is not None
    wait_for(lambda: (page.evaluate("() => window.vigilTimeline.wallTimes()[0]") or 0) > shown + 1000, 20,
             "the recording to play")
    assert page.get_by_label("User name").count() == 0
    assert console.csp_violations() == []
    page.context.close()


def make_export(district: District, site: Site, camera: str) -> int:
    """An export of the camera's first whole segment at `site` (made with a hub token as the bearer),
    once it is done; its id."""
    token = HubSession(district.hub.base, PAGES_USER, PASSWORD).post(f"/api/sites/{site.id}/token", {})[1]["token"]
    bearer = {"Authorization": f"Bearer {token}"}

    def whole() -> list[dict[str, str]]:
        status, answer = site.json("GET", f"/api/cameras/{camera}/segments", headers=bearer)
        assert status == 200, answer
        return [s for s in answer["segments"] if s.get("end")]
    wait_for(lambda: bool(whole()), 30, "a whole segment")
    first = whole()[0]
    status, made = site.json("POST", "/api/exports", {"cameras": [camera], "start": first["start"], "end": first["end"],
                                                      "reason": "district archive test"}, headers=bearer)
    assert status == 202, made
    export_id = int(made["id"])
    wait_for(lambda: site.json("GET", f"/api/exports/{export_id}", headers=bearer)[1]["state"] == "done", 60,
             "the export at the site")
    return export_id


def wait_recording_at(district: District, site: Site, seconds: float) -> None:
    token = HubSession(district.hub.base, USER, PASSWORD).post(f"/api/sites/{site.id}/token", {})[1]["token"]
    wait_recording(site, token, seconds)


def test_a_token_is_for_one_appliance_and_a_disabled_user_gets_no_more(district: District, browser: Browser) -> None:
    hub, north, south = district.hub, district.north, district.south
    session = HubSession(hub.base, USER, PASSWORD)
    status, answer = session.post(f"/api/sites/{north.id}/token", {"next": "/#/map/nhs"})
    assert status == 200, answer
    token = answer["token"]
    assert answer["signin_url"] == f"{north.base}/#/district-signin?token={token}&next={quote('/#/map/nhs', safe='')}"
    # Site 2 refuses site 1's token, as a sign-in and as a bearer token.
    status, problem = south.json("POST", "/api/district/session", {"token": token})
    assert status == 401, problem
    assert f"is for '{north.id}', not this appliance" in problem["detail"], problem
    assert south.json("GET", "/api/cameras", headers={"Authorization": f"Bearer {token}"})[0] == 401
    # ...and the appliance's page says what to do, without keeping the token in the address.
    page, _ = new_page(browser, "phone")
    page.goto(f"{south.base}/#/district-signin?token={token}&next={quote('/#/map/sms', safe='')}")
    page.get_by_role("alert").filter(has_text="Ask the hub for a new link").wait_for()
    assert "token" not in page.url
    # Site 1 takes it once; the second use is refused ("already used").
    assert north.json("POST", "/api/district/session", {"token": token})[0] == 200
    status, problem = north.json("POST", "/api/district/session", {"token": token})
    assert status == 401 and "used" in str(problem), problem
    # A `next` that would leave the appliance goes home instead.
    fresh = session.post(f"/api/sites/{north.id}/token", {})[1]["token"]
    page.goto(f"{north.base}/#/district-signin?token={fresh}&next={quote('https://evil.example/#/x', safe='')}")
    page.wait_for_url(f"{north.base}/#/", timeout=20_000)
    page.get_by_role("button", name="Sign out").wait_for()

    # Disabled at the hub: no more tokens, no more sign-in there, and the appliance session's next
    # renewal is refused, which ends it.
    hub.cli("user", "disable", USER)
    status, problem = session.post(f"/api/sites/{north.id}/token", {})
    assert status in (401, 403), (status, problem)
    status, problem = call(hub.base, "POST", "/api/session", {"name": USER, "password": PASSWORD})
    assert status in (401, 403), (status, problem)
    page.get_by_role("alert").filter(has_text="The district hub ended your sign-in here").wait_for(timeout=30_000)
    page.get_by_label("User name").wait_for()
    page.context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_hub_pages_are_accessible(district: District, browser: Browser, size: str) -> None:
    hub = district.hub
    page, console = new_page(browser, size)
    page.goto(hub.base + "/")
    page.get_by_role("button", name="Sign in").wait_for()
    check_axe(page)
    screenshot(page, f"hub-sign-in-{size}")
    hub_sign_in(page, hub, PAGES_USER)
    site_card(page, "South Campus").get_by_role("button", name="Playback").wait_for()
    check_axe(page)
    screenshot(page, f"hub-district-{size}")
    page.get_by_role("link", name="Events").click()
    page.get_by_role("heading", name="Events", exact=True).wait_for()
    page.locator(".stream-state").filter(has_text="live").wait_for()
    if size == "desktop":
        # An incident declared at North (a drill, with a hub token as the bearer) reaches this open
        # list live: the appliance publishes it, its bridge carries it, the hub stores and streams it.
        north = district.north
        token = HubSession(hub.base, PAGES_USER, PASSWORD).post(f"/api/sites/{north.id}/token", {})[1]["token"]
        drill = {"building": "nhs", "reason": "district drill", "drill": True}
        status, answer = north.json("POST", "/api/incidents", drill, headers={"Authorization": f"Bearer {token}"})
        assert status in (200, 201), answer
        item = page.locator(f"li.hub-event[data-kind='incident'][data-site='{north.id}']")
        item.first.wait_for(timeout=20_000)
        assert "North Campus · North High" in item.first.inner_text()
        # Filtered to South, it is not there; to incidents, it is.
        page.get_by_label("Site", exact=True).select_option(label="South Campus")
        page.wait_for_url("**site=south-campus**")
        item.first.wait_for(state="detached")
        page.get_by_label("Site", exact=True).select_option(label="Every site")
        page.get_by_label("Kind", exact=True).select_option(label="Incidents")
        item.first.wait_for()
    check_axe(page)
    screenshot(page, f"hub-events-{size}")
    page.get_by_label("Search every site").fill("door")
    page.get_by_label("Search every site").press("Enter")
    page.get_by_role("heading", name="Found for “door”").wait_for()
    page.get_by_role("button", name="Clear").wait_for()
    check_axe(page)
    page.get_by_role("link", name="Archive").click()
    page.get_by_role("heading", name="Pulled exports").wait_for()
    if size == "desktop":
        # An export made at North is pulled into the district archive and verified there.
        export_id = make_export(district, district.north, "nhs-door")
        page.get_by_label("Site", exact=True).select_option(label="North Campus")
        page.get_by_label("Export number").fill(str(export_id))
        page.get_by_role("button", name="Pull export").click()
        row = page.locator(f"tr[data-state='verified']:has(td:text-is('{export_id}'))")
        row.wait_for(timeout=60_000)
        assert "North Campus" in row.inner_text() and "sha256" in row.inner_text()
    check_axe(page)
    screenshot(page, f"hub-archive-{size}")
    # Keyboard: from a fresh load, Tab reaches the skip link first, which moves focus to the content;
    # the site's buttons are reachable by Tab and open with Enter like any button.
    page.reload()
    page.get_by_role("heading", name="Pulled exports").wait_for()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "content"
    page.get_by_role("link", name="District", exact=True).click()
    first_open = site_card(page, "North Campus").get_by_role("button", name="Open map")
    for _ in range(12):
        page.keyboard.press("Tab")
        if first_open.evaluate("(b) => b === document.activeElement"):
            break
    else:
        raise AssertionError("the first site's 'Open map' is not reachable by Tab")
    assert console.csp_violations() == []
    page.context.close()



def test_a_viewer_sees_only_their_buildings(district: District, browser: Browser) -> None:
    page, console = new_page(browser, "phone")
    hub_sign_in(page, district.hub, VIEWER)
    card = site_card(page, "North Campus")
    card.locator("li[data-camera='nhs-door']").get_by_role("button", name="Live").wait_for()
    assert site_card(page, "South Campus").count() == 0 and "South" not in page.locator("main").inner_text()
    # A token for a site outside the viewer's scopes is refused by the hub.
    status, _ = HubSession(district.hub.base, VIEWER, PASSWORD).post(f"/api/sites/{district.south.id}/token", {})
    assert status == 403
    assert console.csp_violations() == []
    page.context.close()
