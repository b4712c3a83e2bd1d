"""Camera setup in Chromium (issue 15) against the real daemon, its configuration file and a
simulated ONVIF camera (vigil.sim.onvif_device) whose streams are the simulated RTSP cameras.

An installer lands on #/admin/cameras; the page lists only their buildings' cameras with status
and "password set / not set" (axe, screenshots at both sizes); the full flow: scan the stub's
address → connect (a wrong password gets the ONVIF sentence) → snapshot shown → save (a bad URL's
422 is shown beside its field, which gets focus) → the camera records within 10 s → its pin is
placed on the map. Editing, disabling, removing (recordings stay), buildings (a 409 shown) and a
read-only configuration; a viewer is offered none of it and the appliance refuses the routes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page

from tests.support.camsim import CameraServer
from tests.support.netns import requires_test_namespace
from tests.support.onvif_sim import multicast_route, onvif_camera
from tests.support.plan_images import png_bytes
from tests.support.webapp import WebApp, check_axe, free_port, new_page, running_webapp, screenshot
from vigil.sim.onvif_device import OnvifDevice

pytestmark = requires_test_namespace

WSD_PORT = free_port()  # WS-Discovery on a port of its own (the test namespace has no other listener)
SETUP = f"""
[camera_setup]
probe_networks = ["127.0.0.0/8"]
wsdiscovery_port = {WSD_PORT}
"""
DEVICE_USER, DEVICE_PASSWORD = "admin", "the camera's secret"
WSD_GROUP = "239.255.255.250"


@pytest.fixture(scope="module")
def webapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The foundation's web app whose probes may reach loopback (where the ONVIF stub is)."""
    with running_webapp(tmp_path_factory.mktemp("webapp-setup"), SETUP) as app:
        yield app


@pytest.fixture
def multicast_on_loopback() -> Iterator[None]:
    with multicast_route(WSD_GROUP):
        yield


def _axis(webapp: WebApp) -> OnvifDevice:
    """An Axis-like camera whose main profile streams the simulated gym camera and whose second
    profile the East Entrance's substream."""
    streams = {"profile_1_h264": webapp.cams.url("gym"), "profile_2_h264": webapp.cams.url("east-sub")}
    return OnvifDevice(vendor="axis", username=DEVICE_USER, password=DEVICE_PASSWORD, streams=streams)


def _open_setup(webapp: WebApp, browser: Browser, user: str = "hs-installer", size: str = "desktop",
                hash_path: str = "#/") -> tuple[Page, Any]:
    page, watch = new_page(browser, size)
    webapp.sign_in(page, user, hash_path)
    return page, watch


def _setting(webapp: WebApp, camera_id: str) -> dict[str, Any] | None:
    cameras = webapp.json("GET", "/api/config/cameras")["cameras"]
    return next((c for c in cameras if c["id"] == camera_id), None)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_an_installer_lands_on_camera_setup_with_their_buildings_cameras(
        webapp: WebApp, browser: Browser, size: str) -> None:
    page, watch = _open_setup(webapp, browser, size=size)
    # No footage for installers: the start page is camera setup.
    page.get_by_role("heading", name="Camera setup").wait_for()
    page.locator("tr[data-camera='hs-east'] [data-status]").filter(has_text="recording").wait_for()
    cameras = page.locator("tr[data-camera]").evaluate_all("els => els.map(e => e.dataset.camera)")
    assert sorted(cameras) == ["hs-east", "hs-gym"] and "Front Office" not in page.content()
    east = page.locator("tr[data-camera='hs-east']").inner_text()
    assert "East Entrance" in east and "High School" in east and webapp.cams.url("east") in east
    assert "not set" in east and "substream" in east
    nav = page.get_by_role("navigation", name="Main").inner_text()
    assert "Camera setup" in nav and "Wall" not in nav and "Timeline" not in nav
    assert "Cameras" in page.get_by_role("navigation", name="Administration").inner_text()
    check_axe(page)
    screenshot(page, f"camera-setup-{size}")
    page.get_by_role("link", name="Add a camera").click()
    page.get_by_role("heading", name="1. Find the camera").wait_for()
    page.get_by_role("list", name="USB cameras").or_(page.get_by_text("No USB camera is plugged in.")).wait_for()
    check_axe(page)
    screenshot(page, f"camera-setup-find-{size}")
    assert watch.csp_violations() == []
    page.context.close()


def test_a_viewer_is_offered_no_camera_setup_and_the_appliance_refuses_it(webapp: WebApp, browser: Browser) -> None:
    page, _ = _open_setup(webapp, browser, user="hs-viewer", hash_path="#/admin/cameras")
    page.get_by_test_id("not-allowed").wait_for()
    assert "Camera setup" not in page.get_by_role("navigation", name="Main").inner_text()
    assert "Cameras" not in page.get_by_role("navigation", name="Administration").inner_text()
    assert page.get_by_role("form").count() == 0
    refused = page.evaluate("""async () => {
        const me = await (await fetch("/api/me")).json();
        const send = (method, path, body) => fetch(path, {method, body: body && JSON.stringify(body),
            headers: {"Content-Type": "application/json", "X-CSRF-Token": me.csrf_token}}).then(r => r.status);
        return [await send("GET", "/api/config/cameras"), await send("GET", "/api/config/buildings"),
                await send("POST", "/api/config/cameras", {id: "evil", building: "hs", name: "x",
                                                           url: "rtsp://127.0.0.1/x"}),
                await send("PATCH", "/api/config/cameras/hs-east", {enabled: false}),
                await send("DELETE", "/api/config/cameras/hs-east"),
                await send("POST", "/api/config/reload"),
                await send("POST", "/api/setup/discover", {timeout_s: 1}),
                await send("POST", "/api/setup/scan", {range: "127.0.0.1"}),
                await send("POST", "/api/setup/probe", {address: "127.0.0.1:1"})];
    }""")
    assert refused == [403] * 9
    assert webapp.request("GET", "/api/config/cameras", user="hs-viewer")[0] == 403
    east = _setting(webapp, "hs-east")
    assert east is not None and east["enabled"] is True
    page.context.close()


def test_a_building_admin_sets_up_only_their_building(webapp: WebApp, browser: Browser) -> None:
    page, _ = _open_setup(webapp, browser, user="ms-admin", hash_path="#/admin/cameras")
    page.locator("tr[data-camera='ms-front']").wait_for()
    cameras = page.locator("tr[data-camera]").evaluate_all("els => els.map(e => e.dataset.camera)")
    assert cameras == ["ms-front"] and "East Entrance" not in page.content()
    # Buildings: their own may be renamed; adding, removing others and re-reading the file are the
    # district's (the appliance refuses them anyway).
    assert page.get_by_role("form", name="Add a building").count() == 0
    assert page.get_by_role("button", name="Rename High School").count() == 0
    assert page.get_by_role("button", name="Read the configuration file again").count() == 0
    page.get_by_role("link", name="Add a camera").click()
    page.get_by_role("button", name="Not an ONVIF camera? Enter its stream URL yourself").click()
    options = page.get_by_label("Building").evaluate("s => [...s.options].map(o => o.value)")
    assert options == ["ms"]
    assert webapp.request("POST", "/api/config/cameras", {"id": "hs-sneaky", "building": "hs", "name": "x",
                                                          "url": webapp.cams.url("gym")}, user="ms-admin")[0] == 403
    page.context.close()


def test_the_installer_finds_probes_saves_and_places_a_camera(webapp: WebApp, browser: Browser) -> None:
    plan = json.loads(webapp.request("POST", "/api/plans?building=hs&floor=1", png_bytes(800, 500), "district",
                                     {"Content-Type": "image/png"})[1])
    device = _axis(webapp)
    with onvif_camera(device) as port:
        page, watch = _open_setup(webapp, browser, hash_path="#/admin/cameras/add")
        # Find: a scan of the stub's address on its port.
        scan = page.get_by_role("form", name="Scan addresses")
        scan.get_by_label("Addresses").fill("127.0.0.1")
        scan.get_by_label("Ports").fill(str(port))
        scan.get_by_role("button", name="Scan addresses").click()
        found = page.locator(f"[data-device='127.0.0.1:{port}']")
        found.wait_for(timeout=30_000)
        # Every simulated camera lives on 127.0.0.1, so the appliance marks this host as configured
        # already (a configured camera's URL names it); the installer connects anyway.
        assert "already configured as hs-" in found.inner_text()
        found.get_by_role("button", name="Connect anyway").click()
        # Connect: a wrong password is the camera's ONVIF refusal, said as such.
        sign_in = page.get_by_role("form", name="Camera sign-in")
        sign_in.get_by_label("Camera user name").fill(DEVICE_USER)
        sign_in.get_by_label("Camera password").fill("not the password")
        sign_in.get_by_role("button", name="Connect").click()
        refused = page.locator("[data-problem]")
        refused.wait_for(timeout=30_000)
        assert refused.get_attribute("data-problem") == "onvif-unauthorized"
        assert "The camera refused the user name or password (ONVIF)." in refused.inner_text()
        sign_in.get_by_label("Camera password").fill(DEVICE_PASSWORD)
        sign_in.get_by_role("button", name="Connect").click()
        snapshot = page.get_by_test_id("probe-snapshot")
        snapshot.wait_for(timeout=30_000)
        page.wait_for_function("() => document.querySelector('[data-testid=probe-snapshot]').naturalWidth > 0")
        assert (snapshot.get_attribute("src") or "").startswith("blob:")
        result = page.get_by_test_id("probe-result").inner_text()
        assert "h264" in result.lower() and "640×360" in result  # the gym camera, as received
        check_axe(page)
        screenshot(page, "camera-setup-probe-desktop")
        page.get_by_role("button", name="Use this camera").click()

        # Save: prefilled from the proposal; a URL that is not RTSP is refused beside its field.
        form = page.get_by_role("form", name="New camera")
        assert form.get_by_label("Main stream URL").input_value() == webapp.cams.url("gym")
        assert form.get_by_label("Camera user name").input_value() == DEVICE_USER
        assert form.get_by_label("Camera password").input_value() == DEVICE_PASSWORD
        # The profiles are choices for what is recorded and what is shown live; a choice fills its URL.
        assert form.get_by_label("Record (main stream)").input_value() == "profile_1_h264"
        sub = form.get_by_label("Live on walls and phones (substream)")
        assert sub.input_value() == "profile_2_h264"
        sub.select_option("")
        assert form.get_by_label("Substream URL").input_value() == ""
        sub.select_option("profile_2_h264")
        assert form.get_by_label("Substream URL").input_value() == webapp.cams.url("east-sub")
        form.get_by_label("Name (what people call it)").fill("North Gate")
        assert form.get_by_label("Camera id").input_value() == "hs-north-gate"
        form.get_by_label("Main stream URL").fill("http://127.0.0.1:9/not-a-camera")
        form.get_by_role("button", name="Save and start recording").click()
        problem = page.locator("#new-camera-url-error")
        problem.wait_for()
        assert form.get_by_label("Main stream URL").get_attribute("aria-describedby") == "new-camera-url-error"
        page.wait_for_function("document.activeElement.id === 'new-camera-url'", timeout=2000)
        assert problem.inner_text().strip() and _setting(webapp, "hs-north-gate") is None
        check_axe(page)
        screenshot(page, "camera-setup-field-error-desktop")
        form.get_by_label("Main stream URL").fill(webapp.cams.url("gym"))
        saved_at = time.monotonic()
        form.get_by_role("button", name="Save and start recording").click()

        # Record: the page says so within 10 s, and so does the appliance.
        page.locator("[data-recording='yes']").wait_for(timeout=10_000)
        assert time.monotonic() - saved_at < 10
        status = next(c for c in webapp.json("GET", "/api/cameras") if c["id"] == "hs-north-gate")["status"]
        assert status["recording"] is True
        check_axe(page)
        screenshot(page, "camera-setup-recording-desktop")
    setting = _setting(webapp, "hs-north-gate")
    assert setting is not None and setting["password_set"] is True and setting["username"] == DEVICE_USER
    assert DEVICE_PASSWORD not in json.dumps(webapp.json("GET", "/api/config/cameras"))
    assert DEVICE_PASSWORD not in page.content()
    assert 'id = "hs-north-gate"' in webapp.config.read_text()
    assert "camera.create" in [e["action"] for e in webapp.json("GET", "/api/audit?action=camera.create")]

    # Place on the map: the map opens in placement mode with the new camera chosen.
    page.get_by_role("link", name="Place on the map").click()
    page.wait_for_url("**/#/map/hs?place=hs-north-gate")
    chosen = page.get_by_label("Not on this plan yet")
    chosen.wait_for()
    assert "North Gate" in chosen.evaluate("s => s.options[s.selectedIndex].text")
    with page.expect_response(lambda r: r.url.endswith("/api/placements") and r.request.method == "PUT") as put:
        page.get_by_role("button", name="Place on plan").click()
    assert put.value.status == 200
    placements = webapp.json("GET", f"/api/placements?plan={plan['id']}")
    assert any(p["item"] == "hs-north-gate" and p["kind"] == "camera" for p in placements)
    page.locator('[data-pin="camera:hs-north-gate"]').wait_for()
    assert watch.csp_violations() == []
    page.context.close()


def test_an_address_that_is_not_onvif_is_named_as_such(webapp: WebApp, browser: Browser) -> None:
    with onvif_camera(OnvifDevice(vendor="axis", misbehave="no-soap")) as port:
        page, _ = _open_setup(webapp, browser, hash_path="#/admin/cameras/add", size="phone")
        enter = page.get_by_role("form", name="Enter an address")
        enter.get_by_label("Camera address (host or host:port)").fill(f"127.0.0.1:{port}")
        enter.get_by_role("button", name="Next").click()
        page.get_by_role("form", name="Camera sign-in").get_by_role("button", name="Connect").click()
        refused = page.locator("[data-problem]")
        refused.wait_for(timeout=30_000)
        assert refused.get_attribute("data-problem") == "not-onvif"
        assert "not as an ONVIF camera" in refused.inner_text()
        check_axe(page)
        screenshot(page, "camera-setup-not-onvif-phone")
        page.context.close()


def test_discovery_finds_the_camera_and_a_stream_password_refusal_is_told_from_onvifs(
        webapp: WebApp, browser: Browser, multicast_on_loopback: None) -> None:
    with CameraServer("name=locked,width=320,height=180,fps=10,auth=admin:another-secret") as locked:
        device = OnvifDevice(vendor="axis", username=DEVICE_USER, password=DEVICE_PASSWORD,
                             streams={"profile_1_h264": locked.url("locked"), "profile_2_h264": locked.url("locked")})
        with onvif_camera(device, announce_port=WSD_PORT) as port:
            page, watch = _open_setup(webapp, browser, hash_path="#/admin/cameras/add", size="phone")
            page.get_by_role("button", name="Search this network").click()
            page.get_by_role("progressbar").wait_for()  # the ~5 s of listening are shown
            found = page.locator(f"[data-device='127.0.0.1:{port}']")
            found.wait_for(timeout=20_000)
            assert "AXIS P3245-V" in found.inner_text()  # its name, from the scopes it announced
            check_axe(page)
            screenshot(page, "camera-setup-discovered-phone")
            found.get_by_role("button").click()
            sign_in = page.get_by_role("form", name="Camera sign-in")
            sign_in.get_by_label("Camera user name").fill(DEVICE_USER)
            sign_in.get_by_label("Camera password").fill(DEVICE_PASSWORD)
            sign_in.get_by_role("button", name="Connect").click()
            refused = page.locator("[data-problem]")
            refused.wait_for(timeout=30_000)
            # ONVIF took the password; the stream did not: said as the RTSP refusal, not ONVIF's.
            assert refused.get_attribute("data-problem") == "rtsp-unauthorized"
            assert "(RTSP)" in refused.inner_text() and "(ONVIF)" not in refused.inner_text()
            assert watch.csp_violations() == []
            page.context.close()


def test_a_camera_of_a_building_without_a_floor_plan_is_placed_on_the_campus_plan(
        webapp: WebApp, browser: Browser) -> None:
    status, body, _ = webapp.request("POST", "/api/plans?name=Campus", png_bytes(900, 600), "district",
                                     {"Content-Type": "image/png"})
    assert status == 201, body
    campus = json.loads(body)
    page, _ = _open_setup(webapp, browser, user="district", hash_path="#/admin/cameras/add")
    page.get_by_role("button", name="Not an ONVIF camera? Enter its stream URL yourself").click()
    form = page.get_by_role("form", name="New camera")
    form.get_by_label("Building").select_option("ms")  # the Middle School has no floor plan
    form.get_by_label("Name (what people call it)").fill("Side Door")
    form.get_by_label("Main stream URL").fill(webapp.cams.url("front"))
    form.get_by_role("button", name="Save and start recording").click()
    page.locator("[data-recording='yes']").wait_for(timeout=10_000)
    page.get_by_role("link", name="Place on the map").click()
    page.wait_for_url("**/#/map?place=ms-side-door")
    with page.expect_response(lambda r: r.url.endswith("/api/placements") and r.request.method == "PUT") as put:
        page.get_by_role("button", name="Place on plan").click()
    assert put.value.status == 200
    placed = webapp.json("GET", f"/api/placements?plan={campus['id']}")
    assert any(p["item"] == "ms-side-door" for p in placed)
    page.context.close()


def test_a_stream_url_typed_by_hand_with_a_taken_id_is_refused_beside_the_id(webapp: WebApp, browser: Browser) -> None:
    page, _ = _open_setup(webapp, browser, hash_path="#/admin/cameras/add")
    page.get_by_role("button", name="Not an ONVIF camera? Enter its stream URL yourself").click()
    form = page.get_by_role("form", name="New camera")
    form.get_by_label("Name (what people call it)").fill("Second East")
    form.get_by_label("Camera id").fill("hs-east")
    form.get_by_label("Main stream URL").fill(webapp.cams.url("east"))
    form.get_by_role("button", name="Save and start recording").click()
    problem = page.locator("#new-camera-id-error")
    problem.wait_for()
    page.wait_for_function("document.activeElement.id === 'new-camera-id'", timeout=2000)
    assert form.get_by_label("Camera id").get_attribute("aria-invalid") == "true"
    assert (_setting(webapp, "hs-east") or {}).get("name") == "East Entrance"
    page.context.close()


def test_edit_disable_enable_and_remove_a_camera(webapp: WebApp, browser: Browser) -> None:
    webapp.json("POST", "/api/config/cameras", {"id": "hs-spare", "building": "hs", "name": "Spare",
                                                "url": webapp.cams.url("front"), "username": "u", "password": "p"})
    page, _ = _open_setup(webapp, browser)
    row = page.locator("tr[data-camera='hs-spare']")
    row.wait_for()
    assert "set" in row.inner_text() and "not set" not in row.inner_text()
    # Edit: the name, and the password cleared with its user name.
    row.get_by_role("button", name="Edit Spare").click()
    edit = page.get_by_role("form", name="Settings of Spare")
    edit.get_by_label("Name (what people call it)").fill("Spare Room")
    edit.get_by_label("Clear the user name and password").check()
    edit.get_by_text("More settings").click()
    assert edit.get_by_label("Motion sensitivity", exact=False).input_value() == "0.5"
    edit.get_by_label("Motion sensitivity", exact=False).fill("0.8")
    check_axe(page)
    screenshot(page, "camera-setup-edit-desktop")
    edit.get_by_role("button", name="Save").click()
    page.wait_for_function("() => document.querySelector(\"tr[data-camera='hs-spare'] th\").textContent"
                           " === 'Spare Room'")
    setting = _setting(webapp, "hs-spare")
    assert setting is not None and setting["name"] == "Spare Room"
    assert setting["password_set"] is False and setting["username"] is None
    assert setting["motion_sensitivity"] == 0.8
    # Disable, then enable again.
    row.get_by_role("button", name="Disable Spare Room").click()
    row.get_by_role("button", name="Enable Spare Room").wait_for()
    assert (_setting(webapp, "hs-spare") or {}).get("enabled") is False
    assert "disabled" in row.locator("[data-status]").inner_text()
    row.get_by_role("button", name="Enable Spare Room").click()
    row.get_by_role("button", name="Disable Spare Room").wait_for()
    assert (_setting(webapp, "hs-spare") or {}).get("enabled") is True
    # Remove: asked again, saying the recordings stay.
    row.get_by_role("button", name="Remove Spare Room").click()
    assert "recordings stay" in row.inner_text()
    row.get_by_role("button", name="Confirm remove Spare Room").click()
    row.wait_for(state="detached")
    assert _setting(webapp, "hs-spare") is None and 'id = "hs-spare"' not in webapp.config.read_text()
    assert "stopped hs-spare" in page.get_by_test_id("setup-note").inner_text()
    for action in ("camera.update", "camera.delete"):
        assert webapp.json("GET", f"/api/audit?action={action}"), action
    page.context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_record_audio_talk_and_ingest_are_set_in_the_form_with_the_regulation_note(
    webapp: WebApp, browser: Browser, size: str
) -> None:
    camera_id = f"hs-audio-{size}"
    webapp.json("POST", "/api/config/cameras", {"id": camera_id, "building": "hs", "name": f"Office {size}",
                                                "url": webapp.cams.url("front")})
    page, _ = _open_setup(webapp, browser, size=size)
    row = page.locator(f"tr[data-camera='{camera_id}']")
    row.wait_for()
    row.get_by_role("button", name=f"Edit Office {size}").click()
    edit = page.get_by_role("form", name=f"Settings of Office {size}")
    edit.get_by_text("More settings").click()
    sound = edit.get_by_label("Record the camera's sound")
    assert not sound.is_checked()
    note_id = (sound.get_attribute("aria-describedby") or "").split()[0]
    assert "may be regulated" in page.locator(f"#{note_id}").inner_text()  # the note is read with the box
    talk_url = edit.get_by_label("Talk URL", exact=False)
    assert talk_url.is_disabled()  # talk is off
    sound.check()
    edit.get_by_label("Talk through the camera's loudspeaker").select_option("onvif")
    talk_url.fill("rtsp://127.0.0.1:1/talk")  # this web app's probe networks take loopback
    client = edit.get_by_label("RTSP client")
    assert client.input_value() == "native"  # the default
    client.select_option("ffmpeg")  # the way back to the old path, per camera
    check_axe(page)
    screenshot(page, f"camera-setup-audio-{size}")
    edit.get_by_role("button", name="Save").click()
    edit.wait_for(state="detached")
    setting = _setting(webapp, camera_id)
    assert setting is not None and setting["record_audio"] is True
    assert (setting["talk"], setting["talk_url"]) == ("onvif", "rtsp://127.0.0.1:1/talk")
    assert setting["ingest"] == "ffmpeg"
    page.context.close()


def test_buildings_added_renamed_and_a_busy_one_kept(webapp: WebApp, browser: Browser) -> None:
    page, _ = _open_setup(webapp, browser, user="district", hash_path="#/admin/cameras")
    add = page.get_by_role("form", name="Add a building")
    add.get_by_label("Building id").fill("annex")
    add.get_by_label("Name", exact=True).fill("Annex")
    add.get_by_role("button", name="Add building").click()
    row = page.locator("tr[data-building='annex']")
    row.wait_for()
    row.get_by_role("button", name="Rename Annex").click()
    rename = page.get_by_role("form", name="Rename Annex")
    rename.get_by_label("New name").fill("North Annex")
    rename.get_by_role("button", name="Save name").click()
    page.wait_for_function("() => document.querySelector(\"tr[data-building='annex'] th\").textContent"
                           " === 'North Annex'")
    assert 'name = "North Annex"' in webapp.config.read_text()
    # A building that still has cameras stays, and the appliance's reason is shown.
    hs = page.locator("tr[data-building='hs']")
    hs.get_by_role("button", name="Remove building High School").click()
    hs.get_by_role("button", name="Confirm remove building High School").click()
    alert = hs.get_by_role("alert")
    alert.wait_for()
    assert "hs-east" in alert.inner_text()
    check_axe(page)
    page.locator("tr[data-building='annex']").get_by_role("button", name="Remove building North Annex").click()
    page.locator("tr[data-building='annex']").get_by_role("button", name="Confirm remove building North Annex").click()
    page.locator("tr[data-building='annex']").wait_for(state="detached")
    assert 'id = "annex"' not in webapp.config.read_text()
    page.context.close()


def test_a_read_only_configuration_is_said_and_its_forms_disabled(webapp: WebApp, browser: Browser) -> None:
    mode = webapp.config.stat().st_mode
    webapp.config.chmod(0o444)
    try:
        page, _ = _open_setup(webapp, browser)
        note = page.get_by_test_id("read-only")
        note.wait_for()
        assert "read-only" in note.inner_text()
        assert page.get_by_role("link", name="Add a camera").count() == 0
        assert page.get_by_role("button", name="Edit East Entrance").is_disabled()
        assert page.get_by_role("button", name="Remove East Entrance").is_disabled()
        check_axe(page)
        page.context.close()
        # A hand edit of the read-only file is read again by who configures every building.
        webapp.config.chmod(mode)
        webapp.config.write_text(webapp.config.read_text().replace('name = "Gym Lobby"', 'name = "Gym Hall"'))
        webapp.config.chmod(0o444)
        page, _ = _open_setup(webapp, browser, user="district", hash_path="#/admin/cameras")
        page.get_by_test_id("read-only").wait_for()
        page.get_by_role("button", name="Read the configuration file again").click()
        note = page.get_by_test_id("setup-note")
        note.filter(has_text="hs-gym").wait_for()
        assert "renamed or moved hs-gym" in note.inner_text()
        assert (_setting(webapp, "hs-gym") or {}).get("name") == "Gym Hall"
        page.context.close()
    finally:
        webapp.config.chmod(mode)


def _tab_to(page: Page, target: Locator, most: int = 80) -> None:
    """Press Tab until `target` has the focus, as a keyboard user moves; fails when `most` presses
    never reach it."""
    target.wait_for()
    for _ in range(most):
        if target.evaluate("e => e === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} was not reached with {most} presses of Tab")


def test_the_wizard_works_from_the_keyboard_alone(webapp: WebApp, browser: Browser) -> None:
    """Find by address, connect, save and see it record with Tab, typing and Enter only: no click
    after signing in."""
    device = _axis(webapp)
    with onvif_camera(device) as port:
        page, watch = _open_setup(webapp, browser, size="phone", hash_path="#/admin/cameras/add")
        _tab_to(page, page.get_by_label("Camera address (host or host:port)"))
        page.keyboard.type(f"127.0.0.1:{port}")
        page.keyboard.press("Enter")
        sign_in = page.get_by_role("form", name="Camera sign-in")
        _tab_to(page, sign_in.get_by_label("Camera user name"))
        page.keyboard.type(DEVICE_USER)
        _tab_to(page, sign_in.get_by_label("Camera password"))
        page.keyboard.type(DEVICE_PASSWORD)
        page.keyboard.press("Enter")
        page.get_by_test_id("probe-result").wait_for(timeout=30_000)
        _tab_to(page, page.get_by_role("button", name="Use this camera"))
        page.keyboard.press("Enter")
        form = page.get_by_role("form", name="New camera")
        _tab_to(page, form.get_by_label("Name (what people call it)"))
        page.keyboard.press("Control+A")
        page.keyboard.type("Keyboard Door")
        assert form.get_by_label("Camera id").input_value() == "hs-keyboard-door"
        page.keyboard.press("Enter")  # submits the form from its field
        page.locator("[data-recording='yes']").wait_for(timeout=10_000)
    assert (_setting(webapp, "hs-keyboard-door") or {}).get("password_set") is True
    assert watch.csp_violations() == []
    page.context.close()
