"""The running daemon as the incident tests (tests/e2e/test_incidents_*.py) drive it: two
buildings, users of each role, calls with a bearer token or a responder link's cookie, and the
link's landing (`GET /l/<token>`, whose 303 is not followed)."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support.http_call import call
from tests.support.vigil_proc import run_vigil, vigil_stdin

# name -> (role, buildings)
USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "chief": ("district_admin", ()), "hs-admin": ("building_admin", ("hs",)),
    "ms-admin": ("building_admin", ("ms",)), "hs-viewer": ("viewer", ("hs",)), "lenel": ("door_system", ()),
}


def write_two_buildings(tmp: Path, cameras: dict[str, tuple[str, str]], port: int, storage_extra: str = "",
                        extra: str = "") -> Path:
    """A configuration with buildings hs and ms; `cameras`: id -> (building, RTSP URL)."""
    lines = ["[storage]", f'path = "{tmp / "data"}"', "min_free_bytes = 0", storage_extra,
             "[http]", f'listen = "127.0.0.1:{port}"', "tls = false",
             "[[buildings]]", 'id = "hs"', 'name = "High School"', "[[buildings]]", 'id = "ms"',
             'name = "Middle School"']
    for camera_id, (building, url) in cameras.items():
        lines += ["[[cameras]]", f'id = "{camera_id}"', f'building = "{building}"', f'url = "{url}"', "timeout_s = 3"]
    path = tmp / "vigil.toml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def make_users(config: Path) -> dict[str, str]:
    """Every user of USERS, with an API token each (name -> token)."""
    tokens = {}
    for name, (role, buildings) in USERS.items():
        where = [arg for b in buildings for arg in ("--building", b)]
        added = vigil_stdin("a long enough password\n", "user", "add", name, "--role", role, *where,
                            "--password-stdin", "--config", str(config))
        assert added.returncode == 0, added.stderr
        tokens[name] = run_vigil("token", "create", name, "--config", str(config)).stdout.strip()
    return tokens


@dataclass
class Client:
    base: str
    tokens: dict[str, str]
    content_types: list[str] = field(default_factory=list)  # of each answer, newest last

    def call(self, method: str, path: str, body: object = None, *, who: str | None = None,
             cookie: str | None = None, raw: bytes | None = None) -> tuple[int, Any]:
        """(status, JSON answer) as `who` (bearer token) or with a responder link's cookie."""
        headers = {"Content-Type": "application/json"}
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        if cookie is not None:
            headers["Cookie"] = f"vigil_link={cookie}"
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        status, answer, response_headers = call(self.base + path, method, data, headers, timeout_s=20)
        self.content_types.append(response_headers.get("Content-Type", ""))
        return status, json.loads(answer or b"{}")

    def problem(self, method: str, path: str, body: object = None, *, who: str, raw: bytes | None = None
                ) -> tuple[int, str]:
        """An error answer: (status, detail), checked to be problem+json."""
        status, answer = self.call(method, path, body, who=who, raw=raw)
        assert self.content_types[-1].startswith("application/problem+json"), (status, answer)
        assert answer["status"] == status, answer
        return status, str(answer["detail"])


def open_link(url: str) -> tuple[int, str | None, str | None]:
    """GET the link's landing without following it: (status, Location, the vigil_link cookie's value)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=20)
    try:
        conn.request("GET", parts.path)
        response = conn.getresponse()
        response.read()
        cookie = None
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == "vigil_link":
                cookie = rest.split(";", 1)[0]
        return response.status, response.headers.get("Location"), cookie
    finally:
        conn.close()
