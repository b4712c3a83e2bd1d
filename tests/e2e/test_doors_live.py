"""The door-event webhook, alert stream and acknowledgement against the running daemon."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.support.http_call import call, free_port
from tests.support.vigil_proc import VigilProcess, run_vigil, vigil_stdin, wait_for, write_config
from vigil.core.timebase import wall_ns_to_iso
from vigil.core.webhook_auth import sign

SECRET = "webhook-secret-0123456789abcdef"
BADGE = "0049912345"
SETTINGS = f"""
[http]
listen = "127.0.0.1:{{port}}"
tls = false
[door_events]
webhook_secret = "{SECRET}"
max_body_bytes = 2048
[[doors]]
id = "east-main"
name = "East Main Entrance"
building = "hs"
cameras = ["hs-east"]
access_points = [{{ source = "lenel", id = "reader-7", direction = "in" }}]
"""
USERS = {"root": ("district_admin", ()), "lenel": ("door_system", ()), "watcher": ("viewer", ("hs",)),
         "office": ("building_admin", ("hs",))}


@dataclass
class Daemon:
    base: str
    tokens: dict[str, str]
    vigil: VigilProcess

    def call(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
             who: str | None = None) -> tuple[int, Any]:
        headers = dict(headers or {})
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        status, data, _ = call(self.base + path, method, body if method == "POST" else None, headers)
        return status, json.loads(data or b"{}")

    def post_event(self, doc: dict[str, Any], *, who: str | None = "lenel", signed_at: int | None = None,
                   secret: str = SECRET, content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
        body = json.dumps(doc).encode()
        headers = {"Content-Type": content_type}
        if signed_at is not None:
            headers["Vigil-Timestamp"] = str(signed_at)
            headers["Vigil-Signature"] = sign(secret, str(signed_at), body)
        return self.call("POST", "/api/door-events", body, headers, who)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("doors")
    port = free_port()
    config = write_config(tmp, {"hs-east": "rtsp://127.0.0.1:1/none"}, "", "")
    config.write_text(config.read_text() + SETTINGS.replace("{port}", str(port)))
    tokens = {}
    for name, (role, buildings) in USERS.items():
        extra = [arg for b in buildings for arg in ("--building", b)]
        added = vigil_stdin("a long enough password\n", "user", "add", name, "--role", role, *extra,
                            "--password-stdin", "--config", str(config))
        assert added.returncode == 0, added.stderr
        tokens[name] = run_vigil("token", "create", name, "--config", str(config)).stdout.strip()
    vigil = VigilProcess(config)
    try:
        d = Daemon(f"http://127.0.0.1:{port}", tokens, vigil)

        def ready() -> bool:
            try:
                return d.call("GET", "/api/health", who="root")[0] == 200
            except OSError:  # not listening yet
                assert vigil.proc.poll() is None, vigil.log
                return False

        wait_for(ready, 30, "the API")
        yield d
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
    log = vigil.log
    for secret in (SECRET, BADGE, *tokens.values()):
        assert secret not in log, "secrets and badge numbers never reach the log"


def denied(event_id: str, at_ns: int | None = None) -> dict[str, Any]:
    return {"schema": "door-event/v1", "source": "lenel", "event_id": event_id, "kind": "access_denied",
            "occurred_at": wall_ns_to_iso(at_ns or time.time_ns()), "access_point": "reader-7",
            "reason": "badge expired", "credential": BADGE}


def test_token_and_signed_posts_and_replays(daemon: Daemon) -> None:
    status, first = daemon.post_event(denied("t-1"))
    assert status == 201 and first["duplicate"] is False and first["flagged"] is True, first
    status, again = daemon.post_event(denied("t-1"))
    assert (status, again) == (200, {"id": first["id"], "duplicate": True, "flagged": True})
    now_s = int(time.time())
    status, signed = daemon.post_event(denied("s-1"), who=None, signed_at=now_s)
    assert status == 201 and signed["id"] != first["id"], signed
    status, replay = daemon.post_event(denied("s-1"), who=None, signed_at=now_s)
    assert (status, replay["id"], replay["duplicate"]) == (200, signed["id"], True)
    status, by_admin = daemon.post_event(denied("d-1"), who="root")
    assert status == 201, by_admin
    status, listed = daemon.call("GET", "/api/door-events?flagged=true", who="root")
    assert status == 200
    mine = {e["event_id"]: e for e in listed["events"]}
    assert {"t-1", "s-1", "d-1"} <= set(mine)
    assert mine["s-1"]["door"] == "east-main" and mine["s-1"]["cameras"] == ["hs-east"]
    assert mine["s-1"]["credential_last4"] == "2345" and BADGE not in json.dumps(listed)
    status, audit = daemon.call("GET", "/api/audit?action=hold.create", who="root")
    assert status == 200
    held = {e["detail"]["door_event_id"]: (e["actor"], e["detail"]["camera"]) for e in audit}
    assert {held[mine[e]["id"]] for e in ("t-1", "s-1", "d-1")} == {("door:lenel", "hs-east")}


@pytest.mark.parametrize(("case", "status", "words"), [
    ("unsigned", 401, "sign in"),
    ("bad signature", 401, "does not match"),
    ("wrong secret", 401, "does not match"),
    ("stale timestamp", 401, "more than 300 s"),
    ("future timestamp", 401, "more than 300 s"),
    ("malformed json", 400, "not valid JSON"),
    ("not an object", 400, "JSON object"),
    ("kind is a number", 400, "'kind' must be a string"),
    ("unknown kind", 400, "unknown kind"),
    ("no event_id", 400, "'event_id' is required"),
    ("no time offset", 400, "no UTC offset"),
    ("oversized", 413, "limited to 2048 bytes"),
    ("form content", 415, "application/json"),
    ("viewer token", 403, "may not post_door_events"),
    ("building admin token", 403, "may not post_door_events"),
])
def test_bad_webhook_requests(daemon: Daemon, case: str, status: int, words: str) -> None:
    now_s = int(time.time())
    doc: Any = denied(f"bad-{case}")
    body: bytes | None = None
    kwargs: dict[str, Any] = {}
    if case == "unsigned":
        kwargs = {"who": None}
    elif case == "bad signature":
        got_status, got = daemon.call("POST", "/api/door-events", json.dumps(doc).encode(), {
            "Content-Type": "application/json", "Vigil-Timestamp": str(now_s),
            "Vigil-Signature": sign(SECRET, str(now_s), b"{}")})
        assert (got_status, words in got["detail"]) == (status, True), got
        return
    elif case == "wrong secret":
        kwargs = {"who": None, "signed_at": now_s, "secret": "another-secret-0123456789"}
    elif case == "stale timestamp":
        kwargs = {"who": None, "signed_at": now_s - 301}
    elif case == "future timestamp":
        kwargs = {"who": None, "signed_at": now_s + 400}
    elif case == "malformed json":
        body = b'{"source": "lenel", '
    elif case == "not an object":
        body = b"[1, 2]"
    elif case == "kind is a number":
        doc["kind"] = 5
    elif case == "unknown kind":
        doc["kind"] = "loitering"
    elif case == "no event_id":
        del doc["event_id"]
    elif case == "no time offset":
        doc["occurred_at"] = "2026-11-28T10:00:00"
    elif case == "oversized":
        doc["reason"] = "x" * 400
        doc["raw"] = {"padding": "y" * 3000}
    elif case == "form content":
        kwargs = {"content_type": "application/x-www-form-urlencoded"}
    elif case == "viewer token":
        kwargs = {"who": "watcher"}
    elif case == "building admin token":
        kwargs = {"who": "office"}
    if body is not None:
        got_status, got = daemon.call("POST", "/api/door-events", body, {"Content-Type": "application/json"},
                                      "lenel")
    else:
        got_status, got = daemon.post_event(doc, **kwargs)
    assert got_status == status and words in got.get("detail", ""), got
    assert got.get("title") and "Traceback" not in got.get("detail", "")


async def _next_alert(response: aiohttp.ClientResponse) -> dict[str, Any]:
    while True:
        line = (await asyncio.wait_for(response.content.readline(), 30)).decode()
        if line.startswith("data: "):
            return dict(json.loads(line[len("data: "):]))


async def test_alert_stream_gets_the_flagged_event_and_ack_is_audited(daemon: Daemon) -> None:
    auth = {"Authorization": f"Bearer {daemon.tokens['watcher']}"}
    async with aiohttp.ClientSession() as session, session.get(daemon.base + "/api/alerts", headers=auth) as stream:
        assert stream.status == 200 and stream.headers["Content-Type"] == "text/event-stream"
        assert await stream.content.readline() == b": connected\n"
        granted = {**denied("ok-1"), "kind": "access_granted"}
        assert (await asyncio.to_thread(daemon.post_event, granted))[0] == 201  # not flagged: not pushed
        status, posted = await asyncio.to_thread(daemon.post_event, denied("sse-1"))
        assert status == 201
        alert = await _next_alert(stream)
    assert (alert["alert"], alert["id"], alert["event_id"], alert["door"]) == (
        "door_event_flagged", posted["id"], "sse-1", "east-main")
    assert alert["credential_last4"] == "2345" and BADGE not in json.dumps(alert)
    status, denied_ack = daemon.call("POST", f"/api/door-events/{posted['id']}/ack", who="watcher")
    assert status == 403, denied_ack
    status, acked = daemon.call("POST", f"/api/door-events/{posted['id']}/ack", who="office")
    assert status == 200 and acked["acked_by"] == "user:office" and acked["acked_at"], acked
    status, audit = daemon.call("GET", "/api/audit?action=door_event.ack", who="root")
    assert status == 200
    assert [(e["actor"], e["target"], e["outcome"]) for e in audit] == [
        ("user:office", f"door_event:{posted['id']}", "ok")]
