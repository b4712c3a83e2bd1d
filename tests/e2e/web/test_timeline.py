"""The timeline page (#/timeline) in Chromium against the real daemon recording simulated cameras:
a scrub shows the frame recorded at that moment (judged against the segment file decoded with
PyAV), four cameras play in sync, hover thumbnails, axe and screenshots at both sizes, and a
building admin sees nothing of another building."""

from __future__ import annotations

import io
import time
import urllib.parse
from collections.abc import Iterator

import av
import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from tests.support import webapp as webapp_module
from tests.support.netns import requires_test_namespace
from tests.support.vigil_proc import wait_for
from tests.support.webapp import WebApp, check_axe, new_page, running_webapp, screenshot

pytestmark = requires_test_namespace
S = 1_000_000_000
GRAB_JS = """() => {
    const v = document.querySelector("figure.tl-player video");
    const c = document.createElement("canvas"); c.width = 64; c.height = 36;
    const g = c.getContext("2d"); g.drawImage(v, 0, 0, 64, 36);
    const d = g.getImageData(0, 0, 64, 36).data; const out = [];
    for (let i = 0; i < d.length; i += 4) out.push(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
    return out;
}"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The usual web app plus a fourth camera (a second view of the gym's stream) in the High School."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(webapp_module.CAMERAS, "hs-hall", ("hs", "Hallway", "gym", None))
        with running_webapp(tmp_path_factory.mktemp("timeline")) as running:
            yield running


def recorded_since(app: WebApp, camera: str) -> int:
    """Wall ns of the camera's first recorded segment."""
    segments = app.json("GET", f"/api/cameras/{camera}/segments")["segments"]
    return int(segments[0]["start_wall_ns"]) if segments else time.time_ns()


def wait_recorded(app: WebApp, cameras: list[str], seconds: float) -> int:
    """Waits until every camera has `seconds` of recording; the latest first-recorded time."""
    first = max(recorded_since(app, c) for c in cameras)
    wait_for(lambda: time.time_ns() - first > seconds * S + 3 * S, seconds + 60, f"{seconds} s of recording")
    return first


def open_timeline(app: WebApp, page: Page, user: str, cameras: list[str], t_ns: int) -> None:
    app.sign_in(page, user, f"#/timeline?cameras={','.join(cameras)}&t={t_ns // 1_000_000}")
    page.wait_for_function("() => window.vigilTimeline && window.vigilTimeline.ready()", timeout=30_000)


def point_at(page: Page, label: str, target_ms: float) -> tuple[float, float, float]:
    """(x, y) of `target_ms` on the bar labelled `label` (scrolled into view), and the ms per pixel.
    The ten-minute bar shows the ten minutes holding the playhead: when the recording crossed ten
    minutes of the clock, the page is first moved near the target (the hook a scrub calls)."""
    bar = page.locator(f'.tl-bar[aria-label="{label}"]')
    start, end = (float(bar.get_attribute(a) or 0) for a in ("data-start-ms", "data-end-ms"))
    if not start <= target_ms < end:
        page.evaluate("(t) => window.vigilTimeline.seek(t)", target_ms - 2000)
        page.wait_for_function("([label, t]) => Number(document.querySelector(`.tl-bar[aria-label='${label}']`)"
                               ".dataset.startMs) <= t", arg=[label, target_ms])
        start, end = (float(bar.get_attribute(a) or 0) for a in ("data-start-ms", "data-end-ms"))
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box is not None
    return (box["x"] + (target_ms - start) / (end - start) * box["width"], box["y"] + box["height"] / 2,
            (end - start) / box["width"])


def recorded_frames(app: WebApp, camera: str, wall_ns: int) -> list[tuple[int, np.ndarray]]:
    """(wall ns, 64x36 luma) of every frame of the segment recorded at wall_ns, decoded with PyAV
    from the bytes the byte-range route serves."""
    q = urllib.parse.urlencode({"start": f"{wall_ns / S:.9f}", "end": f"{wall_ns / S + 0.001:.9f}"})
    (segment,) = app.json("GET", f"/api/cameras/{camera}/segments?{q}")["segments"]
    status, data, _ = app.request("GET", f"/api/cameras/{camera}/segments/{segment['id']}/media.mp4?{q}",
                                  user="district")
    assert status == 200
    out = []
    with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            assert frame.pts is not None and stream.time_base is not None
            at = int(segment["start_wall_ns"]) + int(frame.pts * stream.time_base * S)
            rgb = frame.reformat(width=64, height=36, format="rgb24").to_ndarray().astype(np.float64)
            out.append((at, rgb @ np.array([0.299, 0.587, 0.114])))
    return out


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def test_scrub_shows_the_frame_recorded_then(app: WebApp, browser: Browser) -> None:
    first = wait_recorded(app, ["hs-east"], 40)
    page, console = new_page(browser, "desktop")
    open_timeline(app, page, "hs-viewer", ["hs-east"], first + 8 * S)
    for target_s in (21.5, 33.2, 12.7):  # scrub by clicking the ten-minute bar (forwards and back)
        target_ms = (first + int(target_s * S)) / 1e6
        x, y, ms_per_px = point_at(page, "East Entrance: ten minutes", target_ms)
        page.mouse.click(x, y)
        page.wait_for_function("""() => { const t = window.vigilTimeline; const w = t.wallTimes()[0];
                                          return t.ready() && w !== null && Math.abs(w - t.clock()) < 50; }""")
        page.wait_for_timeout(300)  # the seeked frame is composited
        shown_ms = page.evaluate("() => window.vigilTimeline.wallTimes()[0]")
        assert abs(shown_ms - target_ms) < ms_per_px + 50  # where the click landed
        picture = np.array(page.evaluate(GRAB_JS)).reshape(36, 64)
        frames = recorded_frames(app, "hs-east", int(shown_ms * 1e6))
        # The frame on screen is the last one recorded at or before the moment shown.
        expected = max((f for f in frames if f[0] <= shown_ms * 1e6 + 1e6), key=lambda f: f[0])
        scores = sorted(((correlation(picture, luma), at) for at, luma in frames), reverse=True)
        best_score, best_at = scores[0]
        assert abs(best_at - expected[0]) <= 70_000_000, (best_at, expected[0], scores[:3])
        assert best_score > 0.9
    assert console.csp_violations() == []
    page.context.close()


def test_four_cameras_play_in_sync(app: WebApp, browser: Browser) -> None:
    cameras = ["hs-east", "hs-gym", "hs-hall", "ms-front"]
    first = wait_recorded(app, cameras, 50)
    page, console = new_page(browser, "desktop")
    open_timeline(app, page, "district", cameras, first + 5 * S)
    page.get_by_role("button", name="Play").click()
    page.wait_for_timeout(2000)
    # Sampled every second until 30 s of recorded time have played (a busy machine may stall the
    # players now and then: they wait for each other, so that takes longer, never out of sync).
    spreads: list[float] = []
    positions: list[float] = []
    deadline = time.monotonic() + 90
    while not positions or positions[-1] - positions[0] < 30_000:
        assert time.monotonic() < deadline, f"played only {positions[-1] - positions[0]} ms in 90 s"
        walls: list[float | None] = page.evaluate("() => window.vigilTimeline.wallTimes()")
        assert len(walls) == 4 and all(w is not None for w in walls), walls
        values = [w for w in walls if w is not None]
        spreads.append(max(values) - min(values))
        positions.append(min(values))
        page.wait_for_timeout(1000)
    assert len(spreads) >= 30 and max(spreads) <= 100, spreads
    assert console.csp_violations() == []
    page.context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_page_is_accessible_and_hover_shows_a_recorded_keyframe(app: WebApp, browser: Browser, size: str) -> None:
    first = wait_recorded(app, ["hs-east", "hs-gym"], 20)
    page, console = new_page(browser, size)
    open_timeline(app, page, "hs-admin", ["hs-east", "hs-gym"], first + 10 * S)
    check_axe(page)
    x, y, _ = point_at(page, "East Entrance: ten minutes", (first + 12 * S) / 1e6)
    page.mouse.move(x, y)
    thumb = page.locator(".tl-hover img")
    thumb.wait_for()
    page.wait_for_function("() => { const i = document.querySelector('.tl-hover img'); return i && i.complete"
                           " && i.naturalWidth === 320; }")
    screenshot(page, f"timeline-{size}")
    # Keyboard: the bar is a slider; the arrow keys move the playhead by a second.
    bar = page.locator('.tl-bar[aria-label="East Entrance: ten minutes"]')
    bar.focus()
    before = page.evaluate("() => window.vigilTimeline.clock()")
    page.keyboard.press("ArrowRight")
    assert abs(page.evaluate("() => window.vigilTimeline.clock()") - before - 1000) < 5
    # Selecting a range links to the evidence page with it, by keyboard (the pointer still rests on
    # the bar above, whose hover picture follows it).
    page.get_by_role("button", name="Start a range here").press("Enter")
    bar.focus()
    page.keyboard.press("Shift+ArrowRight")
    page.get_by_role("button", name="End the range here").press("Enter")
    link = page.get_by_role("link", name="Bookmark, hold or export")
    target = link.get_attribute("href") or ""
    assert target.startswith("#/evidence?cameras=hs-east%2Chs-gym&start=")
    params = urllib.parse.parse_qs(target.split("?", 1)[1])
    assert abs(int(params["end"][0]) - int(params["start"][0]) - 10_000) < 5
    check_axe(page)
    assert console.csp_violations() == []
    page.context.close()


def test_a_building_admin_sees_nothing_of_another_building(app: WebApp, browser: Browser) -> None:
    first = wait_recorded(app, ["hs-east"], 5)
    page, _ = new_page(browser, "desktop")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    app.sign_in(page, "hs-admin", f"#/timeline?cameras=hs-east,ms-front&t={(first + 3 * S) // 1_000_000}")
    page.get_by_role("heading", name="Timeline").wait_for()
    page.locator("figure.tl-player").first.wait_for()
    choices = page.locator(".tl-cameras input").evaluate_all("els => els.map(e => e.dataset.camera)")
    assert sorted(choices) == ["hs-east", "hs-gym", "hs-hall"]
    assert page.locator("figure.tl-player").evaluate_all("els => els.map(e => e.dataset.camera)") == ["hs-east"]
    assert "not available to you" in page.get_by_role("alert").inner_text().lower()
    content = page.content()
    assert "Front Office" not in content and "Middle School" not in content
    assert not [u for u in requests if "ms-front" in u and "/api/" in u], requests
    status, body, _ = app.request("GET", "/api/cameras/ms-front/playback.m3u8", user="hs-admin")
    assert status == 403, body
    page.context.close()


def test_a_responder_link_with_a_playback_window_plays_inside_it_and_asks_nothing_outside(
        app: WebApp, browser: Browser) -> None:
    first = wait_recorded(app, ["hs-east"], 30)
    window_start, window_end = first + 5 * S, first + 25 * S
    link = app.json("POST", "/api/links", {
        "reason": "incident", "cameras": ["hs-east"], "live": False, "playback": True, "expires_in": "1h",
        "playback_start": f"{window_start / S:.3f}", "playback_end": f"{window_end / S:.3f}"})
    page, console = new_page(browser, "phone")
    refused: list[str] = []
    page.on("response", lambda r: refused.append(r.url) if r.status == 403 else None)
    page.goto(str(link["url"]))
    page.goto(app.base + f"/#/timeline?cameras=hs-east&t={(first + 10 * S) // 1_000_000}")
    page.wait_for_function("() => window.vigilTimeline && window.vigilTimeline.ready()", timeout=30_000)
    shown = page.evaluate("() => window.vigilTimeline.wallTimes()[0]")
    assert window_start / 1e6 <= shown < window_end / 1e6
    page.evaluate("(t) => window.vigilTimeline.seek(t)", (first + 40 * S) / 1e6)  # after the window
    page.get_by_text("Your access does not cover this time").wait_for()
    assert refused == [], refused  # the page asked only for what the link grants
    check_axe(page)
    assert console.csp_violations() == []
    page.context.close()
