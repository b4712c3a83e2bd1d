"""The web app in Chromium on loopback: seek-to-frame after a scrub on the timeline page (HLS of the
recorded fragments through hls.js) against the existing clip.mp4 played directly in <video>, side
by side; and the JavaScript and CSS the first page ships, gzip'd.

    unshare --net -- sh -c 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo \\
        && exec .venv/bin/python bench/web.py [--record-s 90] [--seeks 20]'

The daemon records the web tests' simulated cameras (tests/support/webapp.py: 640x360 15 fps,
1 s GOP, 10 s segments) for --record-s seconds; then, in one Chromium page each, --seeks times
(the same random recorded moments, alternating which player goes first):

* timeline: `#/timeline?cameras=hs-east`, paused; the page's scrub to the moment (what a click
  on a bar calls, `window.vigilTimeline.seek`); from the scrub to the seek's end (`seeked`: the
  frame is decoded) plus the next animation frame (it is on screen);
* clip: `<video src=/api/cameras/hs-east/clip.mp4?start=&end=>` over the recorded range, paused;
  `currentTime = <the same moment>`; the same two events.

Map: a floor plan of the High School with East Entrance pinned; --map-runs times, each in a fresh
signed-in context: from the navigation to `#/map/hs` to the camera's pin in the document (the map
interactive: the pin can be clicked), then from a click on the pin to the first video frame
presented in the panel (`requestVideoFrameCallback`).

First page: a fresh browser context opening `/#/` and signing in (the shell, then the first page,
before any other click): every script and style sheet response, each gzip'd at level 6 (what a
gzip-serving proxy would send; the daemon sends them uncompressed on loopback); hls.js must not be
among them.

Targets (issue 14): seek-to-frame median <= 400 ms; first page <= 250 kB compressed; map
interactive <= 1.0 s; first frame after a pin click <= 1.0 s (medians).
Exit 0 = met, 1 = missed, 2 = could not measure."""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "daemon"))
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, Page  # noqa: E402
from tests.support.browser import chromium  # noqa: E402
from tests.support.netns import in_test_namespace  # noqa: E402
from tests.support.vigil_proc import wait_for  # noqa: E402
from tests.support.webapp import WebApp, new_page, running_webapp  # noqa: E402

from vigil.plans import sample  # noqa: E402

S = 1_000_000_000
SEEK_TARGET_MS, FIRST_PAGE_TARGET_BYTES, MAP_TARGET_MS, PIN_FRAME_TARGET_MS = 400, 250_000, 1000, 1000
CAMERA = "hs-east"
PIN = '[data-pin="camera:' + CAMERA + '"]'

SCRUB_TO_FRAME_JS = """async (moment) => {
    // The page's own scrub (what a click on a bar calls), then the first frame presented after it.
    const v = document.querySelector("figure.tl-player video");
    const done = new Promise((resolve, reject) => { setTimeout(() => reject(new Error("no frame in 10 s")), 10000);
        v.addEventListener("seeked", () => requestAnimationFrame(() => resolve(performance.now())),
                           { once: true }); });
    const t0 = performance.now();
    window.vigilTimeline.seek(moment);
    return (await done) - t0;
}"""
CLIP_SEEK_JS = """async (position) => {
    const v = document.getElementById("bench-clip");
    const done = new Promise((resolve, reject) => { setTimeout(() => reject(new Error("no frame in 10 s")), 10000);
        v.addEventListener("seeked", () => requestAnimationFrame(() => resolve(performance.now())),
                           { once: true }); });
    const t0 = performance.now();
    v.currentTime = position;
    return (await done) - t0;
}"""


def timeline_seek_ms(page: Page, moment_ms: float) -> float:
    elapsed = float(page.evaluate(SCRUB_TO_FRAME_JS, moment_ms))
    page.wait_for_function("() => window.vigilTimeline.ready()")
    return elapsed


def open_clip(page: Page, app: WebApp, start_ns: int, end_ns: int) -> None:
    src = f"/api/cameras/{CAMERA}/clip.mp4?start={start_ns / S:.3f}&end={end_ns / S:.3f}"
    page.evaluate("""(src) => { const v = document.createElement("video"); v.id = "bench-clip"; v.muted = true;
                               v.preload = "auto"; v.src = src; document.body.append(v); }""", src)
    page.wait_for_function("() => document.getElementById('bench-clip').readyState >= 2", timeout=30_000)


# Installed before the page's own scripts (through DevTools: the page's CSP does not apply): the
# moment, on the navigation's clock, the camera's pin is first in the document.
PIN_WATCH_JS = """(selector) => {
    new MutationObserver((_, observer) => {
        if (document.querySelector(selector)) { window.benchPinAtMs = performance.now(); observer.disconnect(); }
    }).observe(document, { childList: true, subtree: true });
}"""
PIN_TO_FRAME_JS = """async ([selector, camera]) => {
    const t0 = performance.now();
    document.querySelector(selector).click();
    let video = null;
    while (!(video = document.querySelector(`video[data-camera="${camera}"]`))) {
        if (performance.now() > t0 + 15000) throw new Error("no video in 15 s");
        await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((resolve) => video.requestVideoFrameCallback(() => resolve()));
    return performance.now() - t0;
}"""


def map_figures(browser: Browser, app: WebApp, runs: int) -> tuple[list[float], list[float]]:
    """(map interactive ms, first frame after a pin click ms), one of each per fresh context."""
    status, body, _ = app.request("POST", "/api/plans?building=hs&floor=1&name=Ground", sample.campus_png(),
                                  "district", {"Content-Type": "image/png"})
    assert status == 201, body
    plan = json.loads(body)["id"]
    app.json("PUT", "/api/placements", {"plan": plan, "kind": "camera", "item": CAMERA, "x": 620, "y": 420,
                                        "rotation_deg": 120})
    interactive, first_frame = [], []
    for _ in range(runs):
        page, _ = new_page(browser, "desktop")
        app.sign_in(page, "hs-viewer", "#/cameras")
        page.add_init_script(f"({PIN_WATCH_JS})({json.dumps(PIN)})")
        page.goto(app.base + "/#/map/hs")
        page.reload()  # a navigation that loads the document (a change of #route alone would not)
        page.wait_for_function("() => window.benchPinAtMs !== undefined", timeout=15_000)
        interactive.append(float(page.evaluate("window.benchPinAtMs")))
        first_frame.append(float(page.evaluate(PIN_TO_FRAME_JS, [PIN, CAMERA])))
        page.context.close()
    return interactive, first_frame


def first_page_bytes(browser: Browser, app: WebApp) -> dict[str, Any]:
    page, _ = new_page(browser, "desktop")
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r))
    app.sign_in(page, "district", "#/")  # a fresh context: the shell, sign-in, then the first page
    page.wait_for_load_state("networkidle")
    files: dict[str, tuple[int, int]] = {}
    for r in responses:
        if r.request.resource_type in ("script", "stylesheet"):
            body = r.body()
            files[r.url.split("/assets/", 1)[-1]] = (len(body), len(gzip.compress(body, 6)))
    page.context.close()
    return {"files": files, "raw_bytes": sum(a for a, _ in files.values()),
            "gzip_bytes": sum(b for _, b in files.values()),
            "hls_loaded": any("hls" in name for name in files)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record-s", type=float, default=90)
    parser.add_argument("--seeks", type=int, default=20)
    parser.add_argument("--map-runs", type=int, default=10)
    args = parser.parse_args()
    if not in_test_namespace():
        print("run inside the loopback-only namespace (see the docstring)", file=sys.stderr)
        return 2
    rng = random.Random(14)
    with tempfile.TemporaryDirectory() as tmp, running_webapp(Path(tmp)) as app, chromium() as browser:
        wait_for(lambda: bool(app.json("GET", f"/api/cameras/{CAMERA}/segments")["segments"]), 60, "a segment")
        first = int(app.json("GET", f"/api/cameras/{CAMERA}/segments")["segments"][0]["start_wall_ns"])
        time.sleep(max(0.0, (first + int(args.record_s * S) - time.time_ns()) / S))
        end = first + int(args.record_s * S) - 5 * S
        moments = [first + int(rng.uniform(2, args.record_s - 8) * S) for _ in range(args.seeks)]
        hls_page, _ = new_page(browser, "desktop")
        app.sign_in(hls_page, "hs-viewer", f"#/timeline?cameras={CAMERA}&t={(first + 2 * S) // 1_000_000}")
        hls_page.wait_for_function("() => window.vigilTimeline && window.vigilTimeline.ready()", timeout=30_000)
        clip_page, _ = new_page(browser, "desktop")
        app.sign_in(clip_page, "hs-viewer", "#/cameras")
        open_clip(clip_page, app, first, end)
        clip_start_ns = first  # the clip starts with the first recorded frame; gaps stay gaps of clip time
        hls_ms, clip_ms = [], []
        for n, moment in enumerate(moments):
            order = [0, 1] if n % 2 == 0 else [1, 0]
            for side in order:
                if side == 0:
                    hls_ms.append(timeline_seek_ms(hls_page, moment / 1e6))
                else:
                    clip_ms.append(float(clip_page.evaluate(CLIP_SEEK_JS, (moment - clip_start_ns) / S)))
        map_ms, pin_frame_ms = map_figures(browser, app, args.map_runs)
        page_bytes = first_page_bytes(browser, app)
    result = {
        "seeks": args.seeks, "record_s": args.record_s,
        "timeline_hls_seek_ms": {"median": statistics.median(hls_ms), "p90": sorted(hls_ms)[int(0.9 * len(hls_ms))],
                                 "max": max(hls_ms)},
        "clip_mp4_seek_ms": {"median": statistics.median(clip_ms), "p90": sorted(clip_ms)[int(0.9 * len(clip_ms))],
                             "max": max(clip_ms)},
        "map_interactive_ms": {"median": statistics.median(map_ms), "max": max(map_ms)},
        "pin_click_to_first_frame_ms": {"median": statistics.median(pin_frame_ms), "max": max(pin_frame_ms)},
        "first_page": page_bytes,
    }
    print(json.dumps(result, indent=1))
    met = (result["timeline_hls_seek_ms"]["median"] <= SEEK_TARGET_MS
           and page_bytes["gzip_bytes"] <= FIRST_PAGE_TARGET_BYTES and not page_bytes["hls_loaded"]
           and statistics.median(map_ms) <= MAP_TARGET_MS and statistics.median(pin_frame_ms) <= PIN_FRAME_TARGET_MS)
    print(f"seek-to-frame median: timeline (HLS) {result['timeline_hls_seek_ms']['median']:.0f} ms,"
          f" clip.mp4 {result['clip_mp4_seek_ms']['median']:.0f} ms (target <= {SEEK_TARGET_MS});"
          f" first page {page_bytes['gzip_bytes']} B gzip'd (target <= {FIRST_PAGE_TARGET_BYTES});"
          f" map interactive {statistics.median(map_ms):.0f} ms, pin click to first frame"
          f" {statistics.median(pin_frame_ms):.0f} ms (targets <= {MAP_TARGET_MS}, {PIN_FRAME_TARGET_MS});"
          f" {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
