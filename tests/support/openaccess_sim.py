"""An OnGuard OpenAccess server for scenarios that Stoplight Prism's mock cannot express (several pages,
an expired session, an outage followed by backfill), and Prism itself (`prism mock` and
`prism proxy --errors`, which validate requests and responses against LenelS2's description).

The scenario server answers only what the poller uses, following the spec's shapes: POST/DELETE
/authentication, GET /logged_events (filter, paging, version). It runs in its own thread and loop so
one server (and one Prism in front of it) serves a whole test module."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
import secrets
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.support.http_call import free_port

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "support" / "openaccess" / "lenel-openaccess-7.5.swagger.yaml"
PRISM = ROOT / ".tools" / "prism" / "node_modules" / ".bin" / "prism"
APPLICATION_ID = "vigil-test-application"
USER, PASSWORD = "vigil-poller", "og-Pa55-word!"
_FILTER = re.compile(r'^timestamp >= "([^"]+)" AND timestamp < "([^"]+)"$')


def iso(wall_s: float) -> str:
    return dt.datetime.fromtimestamp(wall_s, tz=dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def logged_event(serial: int, wall_s: float, description: str, **extra: Any) -> dict[str, Any]:
    return {"serial_number": serial, "timestamp": iso(wall_s), "description": description, "controller_id": 1,
            "device_id": 7, "subdevice_id": 0, "event_type": 4, "event_subtype": 0, "badge_id": 12345678,
            "badge_id_str": "12345678", "cardholder_first_name": "Pat", "cardholder_last_name": "Doe",
            "device_name": "East Main Reader", **extra}


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"version": "1.0", "error": {"code": code, "message": message}}, status=status)


class ScenarioServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.events: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self.logins = 0
        self.outage = False
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.filters: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def reset(self) -> None:
        with self._lock:
            self.events.clear()
            self.tokens.clear()
            self.requests.clear()
            self.filters.clear()
            self.logins = 0
            self.outage = False

    def add(self, *events: dict[str, Any]) -> None:
        with self._lock:
            self.events.extend(events)

    def expire_sessions(self) -> None:
        with self._lock:
            self.tokens.clear()

    async def _authenticate(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path, dict(request.query)))
        if self.outage:
            return _error(503, "openaccess.general.serviceunavailable", "OnGuard is not available")
        if request.method == "DELETE":
            self.tokens.discard(request.headers.get("Session-Token", ""))
            return web.json_response({"version": "1.0"})
        body = await request.json()
        if request.headers.get("Application-Id") != APPLICATION_ID:
            return _error(401, "openaccess.general.invalidapplicationid", "Invalid application id")
        if body.get("user_name") != USER or body.get("password") != PASSWORD:
            return _error(401, "openaccess.general.invalidcredentials", "Invalid user name or password")
        token = secrets.token_hex(16)
        with self._lock:
            self.tokens.add(token)
            self.logins += 1
        return web.json_response({"session_token": token, "token_expiration_time": iso(time.time() + 3600),
                                  "version": "1.0"})

    async def _logged_events(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append((request.method, request.path, query))
        if self.outage:
            return _error(503, "openaccess.general.serviceunavailable", "OnGuard is not available")
        if request.headers.get("Session-Token") not in self.tokens:
            return _error(401, "openaccess.general.invalidsessiontoken", "The session token is invalid or expired")
        found = _FILTER.match(query.get("filter", ""))
        if found is None:
            return _error(400, "openaccess.general.invalidfilter", "Unsupported filter")
        self.filters.append((found.group(1), found.group(2)))
        start = dt.datetime.fromisoformat(found.group(1)).replace(tzinfo=dt.UTC)
        end = dt.datetime.fromisoformat(found.group(2)).replace(tzinfo=dt.UTC)
        with self._lock:
            matching = sorted((e for e in self.events
                               if start <= dt.datetime.fromisoformat(e["timestamp"]) < end),
                              key=lambda e: (e["timestamp"], e["serial_number"]))
        page_size = int(query.get("page_size", "20"))
        page_number = int(query.get("page_number", "1"))
        items = matching[(page_number - 1) * page_size: page_number * page_size]
        return web.json_response({"version": query["version"], "count": len(items), "item_list": items,
                                  "page_number": page_number, "page_size": page_size,
                                  "total_items": len(matching), "total_pages": math.ceil(len(matching) / page_size)})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/authentication", self._authenticate)
        app.router.add_delete("/authentication", self._authenticate)
        app.router.add_get("/logged_events", self._logged_events)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> ScenarioServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(20)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(20)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class Prism:
    """`prism mock SPEC` or `prism proxy SPEC UPSTREAM --errors` on a loopback port."""

    def __init__(self, tmp: Path, upstream: str | None = None) -> None:
        self.port = free_port()
        self.log_path = tmp / f"prism-{self.port}.log"
        mode = ["proxy", str(SPEC), upstream, "--errors"] if upstream else ["mock", str(SPEC)]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([str(PRISM), *mode, "-h", "127.0.0.1", "-p", str(self.port)],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120  # node starts slowly on a busy machine
        while "Prism is listening" not in self.log:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"prism did not start: {self.log[-2000:]}")
            time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
