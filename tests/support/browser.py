"""Headless Debian Chromium driven by Playwright (never `playwright install`), and the WebRTC
statistics the tests read from the viewer page (window.vigilPeers)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
]

STATS_JS = """
async () => {
  const out = [];
  for (const pc of window.vigilPeers || []) {
    const stats = await pc.getStats();
    const row = {camera: pc.vigilCamera, quality: pc.vigilQuality, state: pc.connectionState,
                 framesDecoded: 0, width: 0, height: 0, localCandidateType: null};
    let pair = null;
    stats.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") {
        row.framesDecoded = r.framesDecoded || 0; row.width = r.frameWidth || 0; row.height = r.frameHeight || 0;
      }
      if (r.type === "transport" && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
    });
    if (pair) row.localCandidateType = (stats.get(pair.localCandidateId) || {}).candidateType || null;
    out.push(row);
  }
  return out;
}
"""


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium with a fresh temporary profile (Playwright makes one per launch)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def peer_stats(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate(STATS_JS))


def wait_decoding(page: Page, timeout_s: float, count: int = 1) -> list[dict[str, Any]]:
    """Poll until `count` peers have decoded frames; returns their stats."""
    deadline = time.monotonic() + timeout_s
    stats: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        stats = [s for s in peer_stats(page) if s["framesDecoded"] > 0 and s["state"] == "connected"]
        if len(stats) >= count:
            return stats
        time.sleep(0.05)
    raise AssertionError(f"no decoded frames within {timeout_s} s: {peer_stats(page)}")
