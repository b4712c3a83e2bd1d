"""The search, evidence and export pages in Chromium against the running daemon: a region drawn on
a scripted camera's picture finds the scripted mover (and nothing where nothing moves); a range
exported from the evidence page shows its progress, downloads, and `vigil verify` passes on the
download; full-text search finds a bookmark made on the page and shows a bad query's problem; a
door event opens the timeline at its moment on the door's cameras. A building admin of the High
School sees nothing of the Middle School on any of these pages. axe-clean and screenshotted at
both sizes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import pytest
from playwright.sync_api import Browser, Page, Response

from tests.support.camsim import CameraServer
from tests.support.netns import requires_test_namespace
from tests.support.vigil_proc import run_vigil, vigil_stdin, wait_for
from tests.support.webapp import (
    PASSWORD,
    ConsoleWatch,
    WebApp,
    check_axe,
    new_page,
    running_webapp,
    screenshot,
)
from vigil.core.timebase import wall_ns_to_iso
from vigil.sim.scenes import render_scene, standard_scene

pytestmark = requires_test_namespace

NS, MS = 1_000_000_000, 1_000_000
LOW_BAND = (0.02, 0.69, 0.98, 0.98)  # the scene's first mover crosses at 70 % of the height (5-12 s of 32)
TOP_BAND = (0.35, 0.05, 0.95, 0.45)  # nothing moves here (the corner mover is masked)
DOORS = """
[[doors]]
id = "hs-east-door"
building = "hs"
cameras = ["hs-east"]
access_points = [{ source = "lenel", id = "r1", direction = "in" }]
[[doors]]
id = "ms-front-door"
building = "ms"
cameras = ["ms-front"]
access_points = [{ source = "lenel", id = "r2", direction = "in" }]
"""


@pytest.fixture(scope="module")
def webapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The standard web app plus a camera replaying the scripted motion scene (hs-scene, its
    top-left corner masked) and a door in each building."""
    tmp = tmp_path_factory.mktemp("search-pages")
    clip = render_scene(standard_scene(), tmp / "scene.h264", width=640, height=360, fps=15, gop=15)
    with CameraServer(f"name=scene,file={clip}") as scene:
        extra = (f'[[cameras]]\nid = "hs-scene"\nbuilding = "hs"\nname = "Scripted Hall"\n'
                 f'url = "{scene.url("scene")}"\ntimeout_s = 3\nmotion_mask = [[0.0, 0.0, 0.3, 0.3]]\n' + DOORS)
        with running_webapp(tmp, extra_config=extra) as app:
            yield app


def open_page(webapp: WebApp, browser: Browser, user: str, hash_path: str,
              size: str = "desktop") -> tuple[Page, ConsoleWatch]:
    page, console = new_page(browser, size)
    webapp.sign_in(page, user, hash_path)
    page.get_by_role("heading", level=1).wait_for()
    return page, console


def complete_segments(webapp: WebApp, camera: str) -> list[dict[str, Any]]:
    answer = webapp.json("GET", f"/api/cameras/{camera}/segments?start={time.time() - 3600:.0f}")
    return [s for s in answer["segments"] if s.get("end")]


def drag(page: Page, region: tuple[float, float, float, float]) -> None:
    area = page.get_by_test_id("region-area")
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    assert box is not None
    x0, y0, x1, y1 = region
    page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + (x0 + x1) / 2 * box["width"], box["y"] + (y0 + y1) / 2 * box["height"], steps=4)
    page.mouse.move(box["x"] + x1 * box["width"], box["y"] + y1 * box["height"], steps=4)
    page.mouse.up()
    assert page.get_by_label("Top (%)").input_value() == str(round(y0 * 100))


def search_motion(page: Page) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """Click "Find motion"; the query the page sent and the intervals the page lists."""
    with page.expect_response(lambda r: "/motion?" in r.url) as answer:
        page.get_by_role("button", name="Find motion").click()
    page.get_by_role("status").wait_for()
    sent = parse_qs(urlparse(answer.value.url).query)
    intervals: list[dict[str, Any]] = answer.value.json()["intervals"]
    shown = page.locator(".motion-hit").evaluate_all("els => els.map(e => e.dataset.start)")
    assert shown == [i["start"] for i in intervals]
    return sent, intervals


def test_region_search_finds_the_scripted_motion(webapp: WebApp, browser: Browser) -> None:
    started_ms = int(time.time() * 1000) - 120_000

    def low_band_motion() -> bool:  # one crossing of the first mover indexed (the scene loops every 32 s)
        region = ",".join(map(str, LOW_BAND))
        answer = webapp.json("GET", f"/api/cameras/hs-scene/motion?start={started_ms / 1000:.0f}&region={region}")
        return any(i["end_wall_ns"] < time.time_ns() - 2 * NS for i in answer["intervals"])

    wait_for(low_band_motion, 120, "the scripted mover's first crossing in the motion index", interval_s=2)
    end_ms = int(time.time() * 1000)
    page, console = open_page(webapp, browser, "hs-viewer",
                              f"#/search/motion?camera=hs-scene&start={started_ms}&end={end_ms}")
    page.locator(".region-picker img").wait_for()  # the camera's picture to draw on
    drag(page, LOW_BAND)
    assert page.get_by_label("Top (%)").input_value() == "69"
    sent, intervals = search_motion(page)
    region = [float(v) for v in sent["region"][0].split(",")]
    assert all(abs(a - b) < 0.02 for a, b in zip(region, LOW_BAND, strict=True)), region
    assert intervals, "the mover crossing the lower band was found"
    for i in intervals:  # each is the 7 s crossing of the first mover (5-12 s), never the 3 s one higher up
        seconds = (i["end_wall_ns"] - i["start_wall_ns"]) / NS
        assert 4.5 <= seconds <= 9.5, intervals
    link = page.locator(".motion-hit").first.get_by_role("link", name="Open in the timeline").get_attribute("href")
    assert link is not None and link.startswith("#/timeline?cameras=hs-scene&t=")
    assert abs(int(link.rsplit("=", 1)[1]) - intervals[0]["start_wall_ns"] // MS) <= 1
    # Its thumbnail is the recorded keyframe of that moment (decoded by the appliance), not today's picture.
    first_hit = page.locator(".motion-hit").first
    thumb = first_hit.locator(".motion-thumb img")
    assert "/api/cameras/hs-scene/thumbnail.jpg?at=" in str(thumb.get_attribute("src"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    # Its recording plays in place: the clip of the interval (from the keyframe at or before it).
    first_hit.get_by_role("button", name="Play here").click()
    video = first_hit.locator("video")
    page.wait_for_function("v => v.readyState >= 2 && v.currentTime > 0.5", arg=video.element_handle(),
                           timeout=30_000)
    seconds = (intervals[0]["end_wall_ns"] - intervals[0]["start_wall_ns"]) / NS
    assert abs(video.evaluate("v => v.duration") - seconds) <= 2.5
    # Where nothing moves, nothing is found; the whole picture finds at least the same.
    drag(page, TOP_BAND)
    _, none = search_motion(page)
    assert none == [] and "No motion in the region" in page.get_by_role("status").inner_text()
    page.get_by_role("button", name="Whole picture").click()
    sent, everything = search_motion(page)
    assert "region" not in sent and {i["start"] for i in intervals} <= {i["start"] for i in everything}
    check_axe(page)
    assert console.csp_violations() == []
    page.context.close()


def test_export_from_the_page_progresses_downloads_and_verifies(webapp: WebApp, browser: Browser,
                                                                tmp_path: Path) -> None:
    wait_for(lambda: len(complete_segments(webapp, "hs-east")) >= 2, 60, "two complete segments")
    first, second = complete_segments(webapp, "hs-east")[:2]
    start_ms, end_ms = first["start_wall_ns"] // MS + 500, second["end_wall_ns"] // MS - 300
    page, console = open_page(webapp, browser, "hs-admin", f"#/evidence?cameras=hs-east&start={start_ms}&end={end_ms}")
    assert page.get_by_label("East Entrance").is_checked()
    assert page.get_by_label("Front Office").count() == 0  # not the admin's building
    page.get_by_label("Reason").fill("broken window, east entrance")
    page.get_by_label("Case id").fill("PD-2026-0099")
    listed: list[str] = []  # this export's state in each listing the exports page fetched

    def on_response(response: Response) -> None:
        if response.url.endswith("/api/exports") and response.request.method == "GET" and response.ok:
            listed.extend(e["state"] for e in response.json() if e["id"] == created["id"])

    created: dict[str, Any] = {"id": None}
    page.on("response", on_response)
    with page.expect_response(lambda r: r.url.endswith("/api/exports") and r.request.method == "POST") as posted:
        page.get_by_role("button", name="Export").click()
    created.update(posted.value.json())
    assert posted.value.status == 202 and created["cameras"] == ["hs-east"]
    assert created["start_wall_ns"] == start_ms * MS and created["end_wall_ns"] == end_ms * MS
    page.wait_for_url(re.compile(r".*#/exports$"))
    item = page.locator(f"[data-export='{created['id']}'][data-state='done']")
    item.wait_for(timeout=60_000)
    assert "Ready" in item.inner_text() and "PD-2026-0099" in item.inner_text()
    # the page asked again while the export was unfinished, until it was done
    assert listed[-1] == "done" and (listed[0] == "done" or len(listed) >= 2), listed
    with page.expect_download() as download:
        item.get_by_role("link", name=f"Download export {created['id']}").click()
    path = tmp_path / "downloaded.zip"
    download.value.save_as(path)
    assert path.stat().st_size == webapp.json("GET", f"/api/exports/{created['id']}")["size_bytes"]
    shown = run_vigil("key", "show", "--config", str(webapp.config))
    assert shown.returncode == 0, shown.stderr
    fingerprint = shown.stdout.rsplit(":", 1)[1].strip()
    verified = run_vigil("verify", str(path), "--key", fingerprint)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert console.csp_violations() == []
    page.context.close()


def test_text_search_finds_a_bookmark_made_on_the_page(webapp: WebApp, browser: Browser) -> None:
    webapp.json("POST", "/api/bookmarks", {"camera": "ms-front", "start": wall_ns_to_iso(time.time_ns() - 60 * NS),
                                           "headline": "Broken window at the Middle School"})
    now_ms = int(time.time() * 1000)
    page, console = open_page(webapp, browser, "hs-admin",
                              f"#/evidence?cameras=hs-gym&start={now_ms - 60_000}&end={now_ms}")
    page.get_by_label("Headline").fill("Broken window in the gym lobby")
    page.get_by_label("Notes").fill("glass on the floor near the north doors")
    page.get_by_role("button", name="Add bookmark").click()
    assert "Bookmarked on Gym Lobby" in page.get_by_role("status").inner_text()
    page.goto(webapp.base + "/#/search/text")
    page.get_by_label("Words in bookmarks and holds").fill("broken north")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(re.compile(r".*#/search/text\?q=broken\+north$"))
    hit = page.locator(".search-hit")
    hit.first.wait_for()
    assert hit.count() == 1 and "Broken window in the gym lobby" in hit.inner_text()
    marked = page.locator(".search-hit mark").all_inner_texts()  # the best column's matched words
    assert marked and set(marked) <= {"Broken", "north"}, marked
    link = hit.get_by_role("link", name="Open in the timeline").get_attribute("href")
    assert link is not None and link.startswith("#/timeline?cameras=hs-gym&t=")
    # "broken" alone: still only the High School's (the Middle School's bookmark is the district's business)
    page.goto(webapp.base + "/#/search/text?q=broken")
    page.get_by_role("status").wait_for()
    assert "Middle School" not in page.locator("main").inner_text()
    assert page.locator(".search-hit[data-kind='bookmark']").count() == 1  # (and the export's hold: "broken window")
    # The export's hold is found by its case id, and a query FTS5 cannot read is explained.
    page.goto(webapp.base + f"/#/search/text?q={quote('PD-2026-0099')}")
    page.locator(".search-hit[data-kind='hold']").first.wait_for()
    page.goto(webapp.base + f"/#/search/text?q={quote('broken OR')}")
    assert "cannot be read" in page.get_by_role("alert").inner_text()
    assert console.csp_violations() == []
    page.context.close()


def test_door_events_of_both_buildings_arrive_flagged(webapp: WebApp) -> None:
    added = vigil_stdin(PASSWORD + "\n", "user", "add", "lenel", "--role", "door_system", "--password-stdin",
                        "--config", str(webapp.config))
    assert added.returncode == 0, added.stderr
    occurred_ns = (time.time_ns() - 30 * NS) // MS * MS
    for event_id, reader in (("e-hs", "r1"), ("e-ms", "r2")):
        status, body, _ = webapp.request("POST", "/api/door-events", {
            "source": "lenel", "event_id": event_id, "kind": "door_forced_open",
            "occurred_at": wall_ns_to_iso(occurred_ns), "access_point": reader}, user="lenel")
        assert status == 201, body
        assert json.loads(body)["flagged"] is True


def test_a_building_admin_lists_no_other_buildings_exports_or_holds(webapp: WebApp) -> None:
    segs = complete_segments(webapp, "ms-front")
    assert segs, "the Middle School's camera recorded"
    seg = segs[0]
    status, body, _ = webapp.request("POST", "/api/exports", {
        "cameras": ["ms-front"], "start": seg["start"], "end": seg["end"], "reason": "ms incident",
        "case_id": "MS-1"}, user="district")
    assert status == 202, body
    district = [e["cameras"] for e in webapp.json("GET", "/api/exports", user="district")]
    hs_admin = [e["cameras"] for e in webapp.json("GET", "/api/exports", user="hs-admin")]
    assert ["ms-front"] in district and ["ms-front"] not in hs_admin and ["hs-east"] in hs_admin
    found = webapp.json("GET", "/api/search?q=MS-1", user="hs-admin")["results"]  # the export's hold
    assert found == [] and webapp.json("GET", "/api/search?q=MS-1", user="district")["results"]


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_door_search_and_every_page_at_both_sizes(webapp: WebApp, browser: Browser, size: str) -> None:
    page, console = open_page(webapp, browser, "hs-admin", "#/search/doors", size)
    door = page.get_by_label("Door", exact=True)
    door.locator("option[value='hs-east-door']").wait_for(state="attached")  # the configured doors, own building
    assert door.locator("option").evaluate_all("os => os.map(o => o.value)") == ["", "hs-east-door"]
    door.select_option("hs-east-door")
    page.get_by_label("Flagged").select_option("true")
    page.get_by_label("Kind").select_option("door_forced_open")
    page.get_by_role("button", name="Find door events").click()
    hits = page.locator(".door-hit")
    hits.first.wait_for()
    assert hits.count() == 1 and "hs-east-door" in hits.inner_text() and "ms-front-door" not in page.content()
    [event] = [e for e in webapp.json("GET", "/api/door-events?flagged=true", user="hs-admin")["events"]]
    expected = f"#/timeline?cameras=hs-east&t={event['occurred_wall_ns'] // MS}"
    hits.get_by_role("link", name="Open in the timeline").click()
    page.wait_for_url(re.compile(re.escape(expected) + "$"))
    page.go_back()
    page.get_by_role("heading", name="Door events").wait_for()
    page.get_by_role("button", name="Find door events").click()
    hits.first.wait_for()
    check_axe(page)
    screenshot(page, f"search-doors-{size}")
    for hash_path, name, ready in (
            ("#/search/motion?camera=hs-scene", "search-motion", ".region-picker img"),
            ("#/search/text?q=broken", "search-text", ".search-hit"),
            ("#/evidence?cameras=hs-east", "evidence", "#reason"),
            ("#/exports", "exports", ".export-item")):
        page.goto(webapp.base + "/" + hash_path)
        page.locator(ready).first.wait_for()
        text = page.locator("main").inner_text()
        assert "Front Office" not in text and "Middle School" not in text and "ms-front" not in text, hash_path
        if name == "search-motion":
            assert "Front Office" not in page.get_by_label("Camera", exact=True).inner_text()
        check_axe(page)
        screenshot(page, f"{name}-{size}")
    assert console.csp_violations() == []
    page.context.close()
