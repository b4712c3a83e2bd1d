"""Live WebRTC: vigil's WHEP/aiortc passthrough relay against a native GStreamer webrtcbin relay.

    unshare --net -- sh -c 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo \\
        && exec .venv/bin/python bench/webrtc.py [--opens 10] [--viewers 1,4,8] [--seconds 20] [--repeats 1] \\
        [--ingest ffmpeg|native|both]'

Runs only inside a network namespace holding nothing but loopback (127.0.0.1 plus 127.0.0.2,
which aioice's ICE can use): every packet stays on the machine. One simulated camera server
(GStreamer RTSP) serves, to both relays at once:

* ``big``: a pre-encoded 1920x1080 15 fps ~4 Mb/s H.264 clip with a 1 s GOP, replayed (cheap);
* ``stamp``: 640x360 15 fps, 1 s GOP, encoded live with ``stamp=1``: each frame carries the wall
  clock in ms as a barcode in its top rows.

Relays, each keeping one RTSP session per camera open the whole run:

* vigil: ``python -m vigil run`` (which also records both cameras, as it always does; motion
  detection off), viewed
  through a responder link (``vigil link create --camera ... --reason bench``) with
  ``?quality=main``: its own live page, WHEP, aiortc passthrough;
  With ``--ingest native`` its cameras use vigil's own RTSP client (``ingest = "native"``); with
  ``--ingest both`` a second vigil, ``vigil-native``, on the native ingest joins the run (first frame
  and glass to glass; the CPU phase compares ``vigil`` and ``native`` only);
* native: ``bench/native_relay.py``: ``rtspsrc ! rtph264depay ! h264parse ! tee``, per viewer
  ``queue ! rtph264pay ! webrtcbin``, WHEP-like signalling, a minimal page with the same hooks.

Both are driven by headless Debian Chromium (Playwright, the flags of tests/support/browser.py), one
browser context per viewer. Measured, the two relays always alternating which goes first:

1. time to first frame: ``page.goto`` start to the first getStats() (window.vigilPeers) with
   framesDecoded > 0, ``--opens`` times each on ``big`` (a random 0-1 s pause before each open
   spreads the joins over the GOP: both relays wait for the camera's next IDR);
2. glass to glass: on ``stamp``, ``video.requestVideoFrameCallback`` draws each shown frame's top
   rows to a canvas, decodes the barcode and subtracts it from ``Date.now()`` (same machine
   clock); also the frame's ``receiveTime`` (last packet in) to split network+relay from the
   browser's jitter buffer, decode and render; ``--frames`` frames each, over ``--rounds``
   viewings per relay (alternating, so that a slow spell of the machine hits both);
3. server CPU per viewer: with 0 (idle) and then each of ``--viewers`` viewers of ``big``, the
   relay process's utime+stime (/proc/PID/stat, all threads) over ``--seconds`` -> % of one core,
   divided by the viewers; "marginal" subtracts the relay's own idle figure (vigil's idle includes
   recording). The frames each viewer decoded and the machine's busy share show whether the
   browser kept up. ``--repeats`` repeats it (order alternating); ratios are paired per repeat.

Exit 0 = every target met, 1 = a target missed, 2 = could not measure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "daemon"))
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402
from tests.support.browser import CHROMIUM, FLAGS, peer_stats  # noqa: E402
from tests.support.camsim import CameraServer  # noqa: E402
from tests.support.netns import in_test_namespace  # noqa: E402
from tests.support.vigil_proc import VigilProcess, run_vigil, wait_for, write_config  # noqa: E402

from vigil.sim.clips import make_h264_clip  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
FPS = 15
# Issue targets.
MAX_FIRST_FRAME_S = 1.0
MAX_LATENCY_RATIO = 1.2
MAX_LATENCY_RATIO_NATIVE = 1.1  # issue 19: glass to glass on vigil's own RTSP ingest
MAX_CPU_RATIO = 1.5

# Installed in latency contexts only: decodes the stamp=1 barcode (see vigil.sim.camera_server)
# of every frame the <video> presents.
LATENCY_JS = """
(() => {
  window.benchSamples = [];
  const hook = (video) => {
    if (video.benchHooked) return;
    video.benchHooked = true;
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", {willReadFrequently: true});
    const onFrame = (now, meta) => {
      const shown = Date.now();
      const received = meta.receiveTime === undefined ? null : performance.timeOrigin + meta.receiveTime;
      const w = meta.width, cell = Math.floor(w / 40);
      if (cell >= 4) {
        canvas.width = w; canvas.height = cell;
        ctx.drawImage(video, 0, 0, w, cell, 0, 0, w, cell);
        const px = ctx.getImageData(0, 0, w, cell).data;
        const bit = (i) => {
          const x = i * cell + (cell >> 1), y = cell >> 1;
          let sum = 0;
          for (const [dx, dy] of [[0, 0], [-1, 0], [0, -1], [-1, -1]]) sum += px[((y + dy) * w + x + dx) * 4];
          return sum / 4 > 128 ? 1 : 0;
        };
        let value = 0, check = 0;
        for (let i = 0; i < 32; i++) value = value * 2 + bit(i);
        for (let i = 32; i < 40; i++) check = check * 2 + bit(i);
        let expect = 0xA5;
        for (const shift of [24, 16, 8, 0]) expect ^= Math.floor(value / 2 ** shift) & 0xFF;
        if (check === expect) {
          const age = (t) => {  // ms since the stamp, modulo 2**32
            let d = (t - value) % 2 ** 32; if (d < 0) d += 2 ** 32; return d > 2 ** 31 ? d - 2 ** 32 : d;
          };
          window.benchSamples.push({shown: age(shown), received: received === null ? null : age(received)});
        }
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  setInterval(() => document.querySelectorAll("video").forEach(hook), 20);
})();
"""

# Installed in first-frame contexts: when each step of the page's connection happened (ms since
# the navigation started), to show where the time to first frame goes. Wraps, changes nothing.
MARKS_JS = """
(() => {
  window.benchMarks = {};
  const mark = (key) => { if (!(key in window.benchMarks)) window.benchMarks[key] = performance.now(); };
  addEventListener("DOMContentLoaded", () => mark("page"));
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    mark("pc");
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") mark("gathered");
    });
    pc.addEventListener("iceconnectionstatechange", () => mark("ice-" + pc.iceConnectionState));
    pc.addEventListener("connectionstatechange", () => mark("pc-" + pc.connectionState));
    const setRemote = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = (d) => { mark("answer"); return setRemote(d); };
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  const fetchNative = window.fetch;
  window.fetch = (...args) => { if (String(args[0]).includes("whep")) mark("offer"); return fetchNative(...args); };
  setInterval(() => document.querySelectorAll("video").forEach((video) => {
    if (video.benchMarked) return;
    video.benchMarked = true;
    video.requestVideoFrameCallback(() => mark("frame"));
  }), 20);
})();
"""
MARK_ORDER = ("page", "pc", "gathered", "offer", "answer", "ice-connected", "pc-connected", "frame")


# --------------------------------------------------------------------------------------------
# /proc accounting


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rfind(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads)."""
    fields = _stat_fields(pid)
    if fields is None:
        raise RuntimeError(f"process {pid} is gone")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of `root`'s living descendants (the browser: playwright's driver and Chromium)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        fields = _stat_fields(pid)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        todo += children.get(pid, [])
    return total


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# --------------------------------------------------------------------------------------------
# The two relays


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Relay:
    name: str
    pid: int
    urls: dict[str, str]  # camera -> viewer page URL
    sessions: Callable[[], int]
    # camera -> a page to visit first in the same browser context (vigil's responder link, which sets
    # the link's cookie and lands on the app's map; the live page is then /live/{camera}).
    landing: dict[str, str] = field(default_factory=dict)


def land(page: Page, relay: Relay, camera: str) -> None:
    """Visit the relay's landing page for `camera`, if it has one (before any timing starts)."""
    if camera in relay.landing:
        page.goto(relay.landing[camera])


@contextmanager
def vigil_relay(tmp: Path, cams: CameraServer, ingest: str = "ffmpeg", name: str = "vigil") -> Iterator[Relay]:
    tmp.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    extra = (f'[http]\nlisten = "127.0.0.1:{port}"\npublic_url = "https://127.0.0.1:{port}"\n'
             "[webrtc]\nmax_viewers = 64\nmax_viewers_per_credential = 64")  # every viewer uses one link
    # Motion detection off: it decodes keyframes for its own sake, not for the viewers (recording
    # stays on: vigil cannot relay without its camera session, which exists to record).
    config = write_config(tmp, {"big": cams.url("big"), "stamp": cams.url("stamp")}, extra,
                          f'motion = "off"\ningest = "{ingest}"')
    vigil = VigilProcess(config)
    try:
        ca = tmp / "data" / "tls" / "cert.pem"
        wait_for(ca.exists, 30, "vigil's TLS certificate")
        context = ssl.create_default_context(cafile=str(ca))

        def get(path: str, token: str) -> tuple[int, str]:
            request = urllib.request.Request(f"https://127.0.0.1:{port}{path}",
                                             headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
                    return int(response.status), response.read().decode()
            except urllib.error.HTTPError as error:
                return int(error.code), error.read().decode()
            except OSError:
                return 0, ""

        wait_for(lambda: get("/api/cameras", "x")[0] == 401, 30, "vigil's API")
        urls, landing = {}, {}
        for camera in ("big", "stamp"):
            out = run_vigil("link", "create", "--camera", camera, "--reason", "bench", "--config", str(config))
            if out.returncode != 0:
                raise RuntimeError(f"vigil link create failed: {out.stderr}")
            landing[camera] = out.stdout.strip()
            urls[camera] = f"https://127.0.0.1:{port}/live/{camera}?quality=main"
        # Health counts the live sessions of the cameras the caller may see: a link to both.
        both = run_vigil("link", "create", "--camera", "big", "--camera", "stamp", "--reason", "bench",
                         "--config", str(config))
        if both.returncode != 0:
            raise RuntimeError(f"vigil link create failed: {both.stderr}")
        token = both.stdout.strip().rsplit("/", 1)[1]

        def sessions() -> int:
            status, body = get("/api/health", token)
            if status != 200:
                raise RuntimeError(f"vigil /api/health: {status} {body}")
            return int(json.loads(body)["live_sessions"])

        yield Relay(name, vigil.proc.pid, urls, sessions, landing)
        if vigil.terminate() != 0:
            print(f"warning: vigil exited non-zero; log {vigil.log_path}", file=sys.stderr)
    finally:
        vigil.close()


@contextmanager
def native_relay(cams: CameraServer) -> Iterator[Relay]:
    cmd = [sys.executable, str(ROOT / "bench" / "native_relay.py")]
    for camera in ("big", "stamp"):
        cmd += ["--camera", f"{camera}={cams.url(camera)}"]
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("READY "):
                stderr.seek(0)
                raise RuntimeError(f"native relay did not start: {stderr.read().decode(errors='replace')}")
            base = f"http://127.0.0.1:{int(line.split()[1])}"

            def sessions() -> int:
                with urllib.request.urlopen(base + "/health", timeout=10) as response:  # noqa: S310
                    return int(json.loads(response.read())["viewers"])

            yield Relay("native", proc.pid, {c: f"{base}/view/{c}" for c in ("big", "stamp")}, sessions)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --------------------------------------------------------------------------------------------
# Browser side


def new_viewer(browser: Browser, init_script: str | None = None) -> tuple[BrowserContext, Page]:
    context = browser.new_context(ignore_https_errors=True)
    if init_script is not None:
        context.add_init_script(init_script)
    return context, context.new_page()


def leave(context: BrowserContext, page: Page) -> None:
    """Navigate away (the page's pagehide handler ends its session, as a closing tab would), close."""
    try:
        page.goto("about:blank", timeout=5000)
        time.sleep(0.1)  # let the keepalive DELETE go out
    finally:
        context.close()


def decoded(page: Page) -> int:
    return sum(int(s["framesDecoded"]) for s in peer_stats(page) if s["state"] == "connected")


def wait_frames(page: Page, timeout_s: float) -> float:
    """Poll getStats until a frame is decoded; the monotonic time it was seen."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if decoded(page) > 0:
            return time.monotonic()
        time.sleep(0.01)
    raise TimeoutError(f"no decoded frame within {timeout_s} s: {peer_stats(page)}")


def drain(relay: Relay, timeout_s: float = 30.0) -> None:
    """Wait until the relay has no viewer session left (so that one phase cannot load the next)."""
    deadline = time.monotonic() + timeout_s
    while (left := relay.sessions()) and time.monotonic() < deadline:
        time.sleep(0.25)
    if left:
        print(f"warning: {relay.name} still has {left} session(s) after {timeout_s} s", file=sys.stderr)


def q(values: list[float]) -> tuple[float, float, float]:
    """(p25, median, p75)."""
    if len(values) < 2:
        v = values[0] if values else float("nan")
        return v, v, v
    p25, p50, p75 = statistics.quantiles(values, n=4, method="inclusive")
    return p25, p50, p75


# --------------------------------------------------------------------------------------------
# The three measurements


@dataclass
class Results:
    first_frame_s: dict[str, list[float]] = field(default_factory=dict)
    marks_ms: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)
    network_ms: dict[str, list[float]] = field(default_factory=dict)
    latency_rounds_ms: dict[str, list[float]] = field(default_factory=dict)  # median of each viewing
    idle_pct: dict[str, list[float]] = field(default_factory=dict)  # one per repeat
    cpu: dict[tuple[str, int], list[dict[str, float]]] = field(default_factory=dict)  # one per repeat
    problems: list[str] = field(default_factory=list)


def first_frames(browser: Browser, relays: list[Relay], opens: int, res: Results) -> None:
    for relay in relays:  # warm-up (the camera session, Chromium, imports): not counted
        context, page = new_viewer(browser)
        land(page, relay, "big")
        page.goto(relay.urls["big"])
        wait_frames(page, 15)
        leave(context, page)
        res.first_frame_s[relay.name] = []
        res.marks_ms[relay.name] = {}
    for i in range(opens):
        for relay in relays if i % 2 == 0 else relays[::-1]:
            time.sleep(random.uniform(0.0, 1.0))
            context, page = new_viewer(browser, MARKS_JS)
            try:
                land(page, relay, "big")
                start = time.monotonic()
                page.goto(relay.urls["big"])
                res.first_frame_s[relay.name].append(wait_frames(page, 10) - start)
                time.sleep(0.2)
                for key, value in dict(page.evaluate("() => window.benchMarks")).items():
                    res.marks_ms[relay.name].setdefault(key, []).append(float(value))
            except TimeoutError as error:
                res.problems.append(f"{relay.name}: open {i}: {error}")
            finally:
                leave(context, page)
        print(f"  open {i + 1}/{opens}: " + ", ".join(
            f"{r.name} {res.first_frame_s[r.name][-1]:.3f} s" for r in relays if res.first_frame_s[r.name]),
            flush=True)


def latency(browser: Browser, relays: list[Relay], frames: int, rounds: int, res: Results) -> None:
    """`rounds` viewings per relay (alternating), `frames` stamped frames in all."""
    for relay in relays:
        res.latency_ms[relay.name], res.network_ms[relay.name], res.latency_rounds_ms[relay.name] = [], [], []
    per_round = -(-frames // rounds)
    for i in range(rounds):
        for relay in relays if i % 2 == 0 else relays[::-1]:
            _latency_round(browser, relay, per_round, res)


def _latency_round(browser: Browser, relay: Relay, frames: int, res: Results) -> None:
    context, page = new_viewer(browser, LATENCY_JS)
    try:
        land(page, relay, "stamp")
        page.goto(relay.urls["stamp"])
        wait_frames(page, 15)
        time.sleep(1.0)  # settle
        page.evaluate("() => { window.benchSamples = []; }")
        deadline = time.monotonic() + frames / FPS * 2 + 10
        samples: list[dict[str, Any]] = []
        while len(samples) < frames and time.monotonic() < deadline:
            time.sleep(0.5)
            samples = list(page.evaluate("() => window.benchSamples"))
        seen = decoded(page)
    finally:
        leave(context, page)
    shown = [float(s["shown"]) for s in samples]
    res.latency_ms[relay.name] += shown
    res.network_ms[relay.name] += [float(s["received"]) for s in samples if s["received"] is not None]
    res.latency_rounds_ms[relay.name].append(q(shown)[1])
    if len(samples) < frames:
        res.problems.append(f"{relay.name}: only {len(samples)} stamped frames read ({seen} decoded)")
    print(f"  {relay.name}: {len(samples)} frames, median {q(shown)[1]:.0f} ms", flush=True)
    drain(relay)


def measure_cpu(relay: Relay, seconds: float) -> tuple[float, float, float]:
    """(relay % of one core, browser % of one core, machine busy %) over `seconds`."""
    relay0, browser0, (busy0, total0) = cpu_seconds(relay.pid), tree_cpu_seconds(os.getpid()), machine_jiffies()
    t0 = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    relay1, browser1, (busy1, total1) = cpu_seconds(relay.pid), tree_cpu_seconds(os.getpid()), machine_jiffies()
    return (100 * (relay1 - relay0) / wall, 100 * (browser1 - browser0) / wall,
            100 * (busy1 - busy0) / max(total1 - total0, 1))


def cpu(browser: Browser, relays: list[Relay], viewers: list[int], seconds: float, repeat: int, res: Results) -> None:
    """One repeat: each relay idle, then with each viewer count (the order alternating)."""
    idle: dict[str, float] = {}
    for relay in relays if repeat % 2 == 0 else relays[::-1]:
        idle[relay.name] = measure_cpu(relay, seconds)[0]
        res.idle_pct.setdefault(relay.name, []).append(idle[relay.name])
        print(f"  {relay.name} idle: {idle[relay.name]:.2f} % of a core", flush=True)
    for k, n in enumerate(viewers):
        for relay in relays if (k + repeat) % 2 == 0 else relays[::-1]:
            opened = [new_viewer(browser) for _ in range(n)]
            try:
                for _context, page in opened:
                    land(page, relay, "big")
                    page.goto(relay.urls["big"])
                for _context, page in opened:
                    wait_frames(page, 20)
                time.sleep(3.0)  # every viewer past its first GOP
                before = [decoded(page) for _c, page in opened]
                relay_pct, browser_pct, busy_pct = measure_cpu(relay, seconds)
                after = [decoded(page) for _c, page in opened]
                fps = [(a - b) / seconds for a, b in zip(after, before, strict=True)]
                res.cpu.setdefault((relay.name, n), []).append({
                    "relay_pct": relay_pct, "per_viewer": relay_pct / n,
                    "marginal_per_viewer": (relay_pct - idle[relay.name]) / n,
                    "browser_pct": browser_pct, "busy_pct": busy_pct,
                    "fps_min": min(fps), "fps_median": statistics.median(fps),
                })
                print(f"  {relay.name} x{n}: relay {relay_pct:.2f} % ({relay_pct / n:.2f} %/viewer), browser "
                      f"{browser_pct:.0f} %, machine busy {busy_pct:.0f} %, fps min {min(fps):.1f}", flush=True)
            except TimeoutError as error:
                res.problems.append(f"{relay.name} x{n}: {error}")
            finally:
                for context, page in opened:
                    leave(context, page)
            drain(relay)


# --------------------------------------------------------------------------------------------
# Report


def report(res: Results, viewers: list[int], resolution: str) -> tuple[str, bool]:
    lines: list[str] = []
    ok = True

    def verdict(met: bool) -> str:
        nonlocal ok
        ok = ok and met
        return "met" if met else "MISSED"

    ff = {k: q(v) for k, v in res.first_frame_s.items()}
    g2g = {k: q(v) for k, v in res.latency_ms.items()}
    net = {k: q(v) for k, v in res.network_ms.items()}
    lines += ["| measure | vigil | native (webrtcbin) | target | result |", "|---|---|---|---|---|"]
    if "vigil" in ff and "native" in ff:
        lines.append(
            f"| time to first frame, {resolution} (p25 / **median** / p75, n={len(res.first_frame_s['vigil'])}"
            f"/{len(res.first_frame_s['native'])}) "
            f"| {ff['vigil'][0]:.2f} / **{ff['vigil'][1]:.2f}** / {ff['vigil'][2]:.2f} s "
            f"| {ff['native'][0]:.2f} / **{ff['native'][1]:.2f}** / {ff['native'][2]:.2f} s "
            f"| vigil median ≤ {MAX_FIRST_FRAME_S:.1f} s | {verdict(ff['vigil'][1] <= MAX_FIRST_FRAME_S)} |")
    if res.marks_ms:
        steps = [k for k in MARK_ORDER if all(k in m for m in res.marks_ms.values())]
        lines.append("| … median ms from navigation start: " + ", ".join(steps) + " | " + " | ".join(
            " / ".join(f"{statistics.median(res.marks_ms[r][k]):.0f}" for k in steps) for r in ("vigil", "native")
            if r in res.marks_ms) + " | | |")
    if "vigil" in g2g and "native" in g2g:
        ratio = g2g["vigil"][1] / g2g["native"][1]
        lines.append(
            f"| glass to glass, 640x360 live (p25 / **median** / p75, n={len(res.latency_ms['vigil'])}"
            f"/{len(res.latency_ms['native'])} frames) "
            f"| {g2g['vigil'][0]:.0f} / **{g2g['vigil'][1]:.0f}** / {g2g['vigil'][2]:.0f} ms "
            f"| {g2g['native'][0]:.0f} / **{g2g['native'][1]:.0f}** / {g2g['native'][2]:.0f} ms "
            f"| ≤ {MAX_LATENCY_RATIO}× native | {ratio:.2f}× {verdict(ratio <= MAX_LATENCY_RATIO)} |")
        lines.append("| … median of each viewing | " + " | ".join(
            ", ".join(f"{m:.0f}" for m in res.latency_rounds_ms.get(r, [])) for r in ("vigil", "native"))
            + " ms | | |")
    for name in sorted(k for k in g2g if k.startswith("vigil-") and "native" in g2g):
        ratio = g2g[name][1] / g2g["native"][1]
        lines.append(
            f"| glass to glass, {name} (p25 / **median** / p75, n={len(res.latency_ms[name])}) "
            f"| {g2g[name][0]:.0f} / **{g2g[name][1]:.0f}** / {g2g[name][2]:.0f} ms | (see native above) "
            f"| ≤ {MAX_LATENCY_RATIO_NATIVE}× native | {ratio:.2f}× {verdict(ratio <= MAX_LATENCY_RATIO_NATIVE)} |")
        lines.append(f"| … {name}: median of each viewing; camera → last packet in browser (median) | "
                     + ", ".join(f"{m:.0f}" for m in res.latency_rounds_ms.get(name, []))
                     + (f" ms; {net[name][1]:.0f} ms" if name in net else " ms") + " | | | |")
    for name in sorted(k for k in ff if k.startswith("vigil-")):
        lines.append(f"| time to first frame, {name} (p25 / **median** / p75) | {ff[name][0]:.2f} / "
                     f"**{ff[name][1]:.2f}** / {ff[name][2]:.2f} s | | | |")
    if "vigil" in net and "native" in net:
        lines.append(
            f"| of which camera → last packet in browser (median) | {net['vigil'][1]:.0f} ms "
            f"| {net['native'][1]:.0f} ms | (for insight) | |")
    if res.idle_pct:
        repeats = len(res.idle_pct.get("vigil", []))
        lines.append(f"| relay CPU with 0 viewers (% of a core; vigil also records both cameras; median of "
                     f"{repeats}) | {statistics.median(res.idle_pct.get('vigil', [math.nan])):.2f} % "
                     f"| {statistics.median(res.idle_pct.get('native', [math.nan])):.2f} % | | |")

    def ratios(vs: list[dict[str, float]], gs: list[dict[str, float]], key: str) -> str:
        paired = [a[key] / b[key] if b[key] > 0 else math.inf for a, b in zip(vs, gs, strict=False)]
        each = f" ({', '.join(f'{r:.2f}' for r in paired)})" if len(paired) > 1 else ""
        return f"{statistics.median(paired):.2f}×{each}"

    for n in viewers:
        vs, gs = res.cpu.get(("vigil", n), []), res.cpu.get(("native", n), [])
        if not vs or not gs:
            continue
        v = {key: statistics.median(r[key] for r in vs) for key in vs[0]}
        g = {key: statistics.median(r[key] for r in gs) for key in gs[0]}
        paired = [a["per_viewer"] / b["per_viewer"] for a, b in zip(vs, gs, strict=False)]
        lines.append(
            f"| CPU per viewer, {n} × {resolution} (total/N; marginal over idle; medians of {len(vs)}) "
            f"| {v['per_viewer']:.2f} %; {v['marginal_per_viewer']:.2f} % "
            f"| {g['per_viewer']:.2f} %; {g['marginal_per_viewer']:.2f} % "
            f"| ≤ {MAX_CPU_RATIO}× native | {ratios(vs, gs, 'per_viewer')}; {ratios(vs, gs, 'marginal_per_viewer')} "
            f"{verdict(statistics.median(paired) <= MAX_CPU_RATIO)} |")
        lines.append(
            f"| … viewers' decoded fps (min / median), browser CPU, machine busy "
            f"| {v['fps_min']:.1f} / {v['fps_median']:.1f}, {v['browser_pct']:.0f} %, {v['busy_pct']:.0f} % "
            f"| {g['fps_min']:.1f} / {g['fps_median']:.1f}, {g['browser_pct']:.0f} %, {g['busy_pct']:.0f} % | | |")
    if res.problems:
        ok = False
        lines += ["", "Problems:", *(f"- {p}" for p in res.problems)]
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opens", type=int, default=10, help="page opens per relay for time to first frame")
    parser.add_argument("--viewers", default="1,4,8", help="viewer counts for the CPU measurement")
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU measurement window")
    parser.add_argument("--repeats", type=int, default=1, help="repeats of the CPU measurement (paired ratios)")
    parser.add_argument("--frames", type=int, default=300, help="stamped frames per relay for glass to glass")
    parser.add_argument("--rounds", type=int, default=3, help="glass to glass: viewings per relay, alternating")
    parser.add_argument("--size", default="1920x1080", help="size of the replayed clip (CPU, first frame)")
    parser.add_argument("--skip", default="", help="comma list of phases to skip: first,latency,cpu")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--ingest", default="ffmpeg", choices=("ffmpeg", "native", "both"),
                        help="vigil's camera ingest (design/ingest.md); both: a second vigil (vigil-native) "
                             "on the native ingest, measured side by side (first frame, glass to glass)")
    args = parser.parse_args(argv)
    if not in_test_namespace():
        print("bench/webrtc.py must run in a loopback-only network namespace (see the docstring):\n"
              "  unshare --net -- sh -c 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo && "
              "exec .venv/bin/python bench/webrtc.py'", file=sys.stderr)
        return 2
    viewers = [int(v) for v in args.viewers.split(",") if v]
    skip = set(args.skip.split(","))
    match = re.fullmatch(r"(\d+)x(\d+)", args.size)
    if match is None:
        parser.error("--size wants WIDTHxHEIGHT")
    width, height = int(match[1]), int(match[2])
    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor())
    print(f"# bench/webrtc.py {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {cpu_model}, "
          f"--ingest {args.ingest}")
    res = Results()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-webrtc-") as tmp_name:
        tmp = Path(tmp_name)
        clip = make_h264_clip(tmp / "big.mp4", width, height, FPS, seconds=10.0, gop=FPS, bitrate_kbps=4000)
        specs = (f"name=big,file={clip}", f"name=stamp,width=640,height=360,fps={FPS},gop={FPS},bitrate=800,stamp=1")
        try:
            with CameraServer(*specs) as cams, contextlib.ExitStack() as stack:
                first = "native" if args.ingest == "native" else "ffmpeg"
                relays = [stack.enter_context(vigil_relay(tmp / "vigil", cams, first))]
                if args.ingest == "both":
                    relays.append(stack.enter_context(
                        vigil_relay(tmp / "vigil-native", cams, "native", "vigil-native")))
                relays.append(stack.enter_context(native_relay(cams)))
                playwright = stack.enter_context(sync_playwright())
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                try:
                    if "first" not in skip:
                        print(f"time to first frame ({args.opens} opens each):", flush=True)
                        first_frames(browser, relays, args.opens, res)
                    if "latency" not in skip:
                        print(f"glass to glass ({args.frames} frames each, {args.rounds} viewings):", flush=True)
                        latency(browser, relays, args.frames, args.rounds, res)
                    if "cpu" not in skip:
                        for repeat in range(args.repeats):
                            print(f"CPU per viewer ({args.seconds:.0f} s windows), repeat {repeat + 1}/{args.repeats}:",
                                  flush=True)
                            cpu(browser, relays, viewers, args.seconds, repeat, res)
                finally:
                    browser.close()
        except (RuntimeError, AssertionError, TimeoutError) as error:
            print(f"bench/webrtc.py: could not measure: {error}", file=sys.stderr)
            return 2
    table, ok = report(res, viewers, f"{width}x{height}")
    print()
    print(table)
    print()
    print("all targets met" if ok else "a target was missed (or a measurement failed)")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "first_frame_s": res.first_frame_s, "marks_ms": res.marks_ms,
            "latency_ms": res.latency_ms, "network_ms": res.network_ms, "latency_rounds_ms": res.latency_rounds_ms,
            "idle_pct": res.idle_pct, "cpu": {f"{k[0]}/{k[1]}": v for k, v in res.cpu.items()},
            "problems": res.problems}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
