"""The web app under test: the real daemon (TLS, loopback) recording simulated cameras in two
buildings, users of each role, and Debian Chromium pages at a phone and a desktop size, with
axe-core (from daemon/web/node_modules) as the accessibility judge and screenshots written to
test-artifacts/screenshots/."""

from __future__ import annotations

import json
import re
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize

from tests.support.camsim import CameraServer
from tests.support.vigil_proc import VigilProcess, run_vigil, vigil_stdin, wait_for

REPO = Path(__file__).resolve().parents[2]
AXE_JS = REPO / "daemon" / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts" / "screenshots"
PASSWORD = "a long enough password"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1920, "height": 1080}
SIZES = {"phone": PHONE, "desktop": DESKTOP}

# Two buildings; East Entrance has a substream; the Middle School's camera is what the High
# School's people must never see.
CAMERA_SPECS = ("name=east,width=640,height=360,fps=15,gop=15,bitrate=600,clock=1,pattern=ball",
                "name=east-sub,width=320,height=180,fps=15,gop=15,bitrate=200,clock=1,pattern=ball",
                "name=gym,width=640,height=360,fps=15,gop=15,bitrate=600,clock=1",
                "name=front,width=640,height=360,fps=15,gop=15,bitrate=600,clock=1")
CAMERAS = {  # id -> (building, name, mount, substream mount)
    "hs-east": ("hs", "East Entrance", "east", "east-sub"),
    "hs-gym": ("hs", "Gym Lobby", "gym", None),
    "ms-front": ("ms", "Front Office", "front", None),
}
USERS = {  # name -> (role, buildings)
    "district": ("district_admin", ()),
    "hs-admin": ("building_admin", ("hs",)),
    "ms-admin": ("building_admin", ("ms",)),
    "hs-viewer": ("viewer", ("hs",)),
    "hs-installer": ("installer", ("hs",)),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_text(data: Path, port: int, cams: CameraServer, extra: str = "") -> str:
    lines = ["[storage]", f'path = "{data}"', "min_free_bytes = 0", "segment_duration_s = 10",
             "[http]", f'listen = "127.0.0.1:{port}"', f'public_url = "https://127.0.0.1:{port}"',
             "[[buildings]]", 'id = "hs"', 'name = "High School"',
             "[[buildings]]", 'id = "ms"', 'name = "Middle School"']
    for camera_id, (building, name, mount, sub) in CAMERAS.items():
        lines += ["[[cameras]]", f'id = "{camera_id}"', f'building = "{building}"', f'name = "{name}"',
                  f'url = "{cams.url(mount)}"', "timeout_s = 3"]
        if sub is not None:
            lines.append(f'substream_url = "{cams.url(sub)}"')
    return "\n".join(lines) + "\n" + extra + "\n"


@dataclass
class WebApp:
    base: str
    config: Path
    ca: Path
    cams: CameraServer
    vigil: VigilProcess
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, user: str) -> str:
        """A bearer token of `user` (made once)."""
        if user not in self._tokens:
            out = run_vigil("token", "create", user, "--config", str(self.config))
            assert out.returncode == 0, out.stderr
            self._tokens[user] = out.stdout.strip()
        return self._tokens[user]

    def request(self, method: str, path: str, body: bytes | dict[str, Any] | None = None, user: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        """One API request (as `user`'s bearer token when named)."""
        headers = dict(headers or {})
        if user is not None:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)  # noqa: S310
        ctx = ssl.create_default_context(cafile=str(self.ca))
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as r:  # noqa: S310
                return int(r.status), r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return int(e.code), e.read(), dict(e.headers)

    def json(self, method: str, path: str, body: dict[str, Any] | None = None, user: str = "district") -> Any:
        status, data, _ = self.request(method, path, body, user)
        assert 200 <= status < 300, (status, data[:500])
        return json.loads(data)

    def link(self, *args: str) -> str:
        """A responder link's URL (`vigil link create ARGS`)."""
        out = run_vigil("link", "create", "--reason", "test incident", *args, "--config", str(self.config))
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def sign_in(self, page: Page, user: str, hash_path: str = "#/") -> None:
        """Signs `user` in through the page's form, then opens `hash_path`."""
        page.goto(self.base + "/" + hash_path)
        page.get_by_label("User name").fill(user)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for(timeout=15_000)


@contextmanager
def running_webapp(tmp: Path, extra_config: str = "") -> Iterator[WebApp]:
    """The daemon on the simulated cameras, every camera recording, USERS added."""
    port = free_port()
    with CameraServer(*CAMERA_SPECS) as cams:
        config = tmp / "vigil.toml"
        config.write_text(config_text(tmp / "data", port, cams, extra_config))
        for user, (role, buildings) in USERS.items():
            args = ["user", "add", user, "--role", role, "--password-stdin", "--config", str(config)]
            for b in buildings:
                args += ["--building", b]
            out = vigil_stdin(PASSWORD + "\n", *args)
            assert out.returncode == 0, out.stderr
        vigil = VigilProcess(config)
        try:
            ca = tmp / "data" / "tls" / "cert.pem"
            wait_for(ca.exists, 30, "the TLS certificate")
            app = WebApp(f"https://127.0.0.1:{port}", config, ca, cams, vigil)
            wait_for(lambda: app.request("GET", "/api/cameras")[0] == 401, 30, "the API")
            wait_for(lambda: all(c["status"]["recording"] for c in app.json("GET", "/api/cameras")), 60,
                     "every camera to record")
            yield app
            assert vigil.terminate() == 0, vigil.log
        finally:
            vigil.close()


class ConsoleWatch:
    """The page's console errors; CSP violations among them fail the test that checks."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e or "Refused to" in e]


def new_page(browser: Browser, size: str) -> tuple[Page, ConsoleWatch]:
    """A fresh context (no cookies) at `size` ("phone" or "desktop")."""
    phone = size == "phone"
    context = browser.new_context(ignore_https_errors=True, viewport=SIZES[size], is_mobile=phone, has_touch=phone,
                                  device_scale_factor=2 if phone else 1)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page, ConsoleWatch(page)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.1 A/AA). The
    script is evaluated through the DevTools protocol, so the page's CSP stays in force."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text())
    result = page.evaluate("""async () => {
        const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
        const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def check_axe(page: Page) -> None:
    violations = axe_violations(page)
    assert not violations, json.dumps(violations, indent=1)


def screenshot(page: Page, name: str) -> Path:
    """test-artifacts/screenshots/NAME.png (the name says page and size)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
