"""Sign-in to first live frame through the district hub, in Chromium, against signing in at the
appliance itself, side by side.

    unshare --net -- sh -c 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo \\
        && exec .venv/bin/python bench/district_live.py [--runs 8]'

A real `vigil hub run` with its broker and one appliance recording a simulated camera (640x360,
15 fps, 1 s GOP), enrolled through `vigil hub enroll` + `vigil district enroll`
(tests/support/district_web.py, what tests/e2e/web/test_district.py runs). Each run, in a fresh
browser context (no cookies), alternating which path goes first:

* hub: open the hub's page, sign in there (Argon2id at the hub), click the camera's "Live" on the
  site's card: the hub mints a token, the browser goes to the appliance, which signs in with it
  and opens the live view; until the first decoded frame (WebRTC stats `framesDecoded` > 0).
  Also timed: from the click on "Live" to that frame (the district's share);
* peer: open the appliance's live page of the same camera, sign in there with a local account
  (Argon2id at the appliance); until the first decoded frame.

Target (issue 17): the hub path's median <= 2 s. Exit 0 = met, 1 = missed, 2 = could not measure."""

from __future__ import annotations

import argparse
import json
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
from tests.support.browser import chromium, wait_decoding  # noqa: E402
from tests.support.camsim import CameraServer  # noqa: E402
from tests.support.district_web import PASSWORD, HubSession, running_hub, running_site  # noqa: E402
from tests.support.netns import in_test_namespace  # noqa: E402
from tests.support.vigil_proc import vigil_stdin, wait_for  # noqa: E402
from tests.support.webapp import new_page  # noqa: E402

TARGET_MS = 2000.0
SPEC = "name=north,width=640,height=360,fps=15,gop=15,bitrate=500,clock=1,pattern=ball"
SITE, CAMERA, HUB_USER, LOCAL_USER = "north-campus", "nhs-door", "dora", "nora"


def _sign_in(page: Page, user: str) -> None:
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def hub_path(browser: Browser, hub_base: str, site_base: str) -> tuple[float, float]:
    """(sign-in to first frame, click on Live to first frame), ms."""
    page, _ = new_page(browser, "desktop")
    try:
        page.goto(hub_base + "/")
        page.get_by_label("User name").wait_for()
        started = time.perf_counter()
        _sign_in(page, HUB_USER)
        card = page.locator(f"li.site-card[data-site='{SITE}']")
        live = card.locator(f"li[data-camera='{CAMERA}']").get_by_role("button", name="Live")
        live.wait_for()
        clicked = time.perf_counter()
        live.click()
        page.wait_for_url(f"{site_base}/#/live/{CAMERA}", timeout=20_000)
        wait_decoding(page, 20.0)
        done = time.perf_counter()
        return (done - started) * 1000, (done - clicked) * 1000
    finally:
        page.context.close()


def local_path(browser: Browser, site_base: str) -> float:
    page, _ = new_page(browser, "desktop")
    try:
        page.goto(f"{site_base}/#/live/{CAMERA}")
        page.get_by_label("User name").wait_for()
        started = time.perf_counter()
        _sign_in(page, LOCAL_USER)
        wait_decoding(page, 20.0)
        return (time.perf_counter() - started) * 1000
    finally:
        page.context.close()


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()
    if not in_test_namespace():
        print("run inside the loopback-only namespace (see the docstring)", file=sys.stderr)
        return 2
    hub_ms: list[float] = []
    click_ms: list[float] = []
    local_ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, CameraServer(SPEC) as cams, running_hub(Path(tmp)) as hub:
        hub.add_user(HUB_USER, "district_admin")
        with running_site(Path(tmp) / "north", hub, cams, SITE, "North Campus", {"nhs": "North High"},
                          {CAMERA: ("nhs", "North Door", "north")}) as site:
            added = vigil_stdin(PASSWORD + "\n", "user", "add", LOCAL_USER, "--role", "district_admin",
                                "--password-stdin", "--config", str(site.config))
            if added.returncode != 0:
                print(added.stderr, file=sys.stderr)
                return 2
            session = HubSession(hub.base, HUB_USER, PASSWORD)

            def inventory() -> bool:
                sites = {s["id"]: s for s in session.get("/api/sites")[1]["sites"]}
                return bool((sites.get(SITE) or {}).get("inventory"))
            wait_for(inventory, 60, "the site's inventory at the hub", interval_s=1.0)
            with chromium() as browser:
                local_path(browser, site.base)  # warm-up: the first WebRTC session of the process
                for run in range(args.runs):
                    if run % 2:
                        local_ms.append(local_path(browser, site.base))
                    whole, click = hub_path(browser, hub.base, site.base)
                    hub_ms.append(whole)
                    click_ms.append(click)
                    if not run % 2:
                        local_ms.append(local_path(browser, site.base))
    result: dict[str, Any] = {
        "runs": args.runs,
        "hub_sign_in_to_first_frame_ms": _summary(hub_ms),
        "hub_live_click_to_first_frame_ms": _summary(click_ms),
        "local_sign_in_to_first_frame_ms": _summary(local_ms),
        "ratio_hub_to_local": statistics.median(hub_ms) / statistics.median(local_ms),
    }
    print(json.dumps(result, indent=1))
    median = result["hub_sign_in_to_first_frame_ms"]["median"]
    print(f"sign-in to first live frame: through the hub {median:.0f} ms (median), at the appliance"
          f" {result['local_sign_in_to_first_frame_ms']['median']:.0f} ms; target {TARGET_MS:.0f} ms")
    return 0 if median <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
