"""Malformed input gets a 4xx problem+json with a clear message: never a 500, never internals."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.api_harness import PASSWORD, Api
from vigil.api.routes import ROUTES
from vigil.core.incidents import DeclaredVia
from vigil.services import incidents
from vigil.services.caller import worker_caller


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "needle"), [
    ("POST", "/api/login", {"data": b"{not json"}, 400, "not valid JSON"),
    ("POST", "/api/login", {"data": b"[1, 2]"}, 400, "JSON object"),
    ("POST", "/api/login", {"data": b'{"name": NaN, "password": "x"}'}, 400, "not valid JSON"),
    ("POST", "/api/login", {"json": {"name": 5, "password": "x"}}, 400, "name"),
    ("POST", "/api/login", {"data": b"x" * 2_000_000}, 413, "too large"),
    ("GET", "/api/cameras/hs-cam/segments?start=yesterday", {}, 400, "neither ISO 8601"),
    ("GET", "/api/cameras/hs-cam/segments?start=2026-01-02&end=2026-01-01", {}, 400, "end must be after start"),
    ("GET", "/api/cameras/hs-cam/segments?start=1e400", {}, 400, "out of range"),
    ("GET", "/api/cameras/nope/segments", {}, 404, "no camera"),
    ("GET", "/api/audit?limit=0", {}, 400, "limit"),
    ("DELETE", "/api/links/abc", {}, 400, "number"),
    ("DELETE", "/api/links/999", {}, 404, "no link"),
    ("DELETE", "/api/links/\u00b2", {}, 400, "number"),  # a superscript two: isdigit() is true, int() fails
    ("GET", "/api/audit?limit=\u00b2", {}, 400, "limit"),
    ("GET", "/api/exports/\u00b2", {}, 400, "number"),  # exports, holds, bookmarks: ids as for links
    ("GET", "/api/exports/abc/download", {}, 400, "number"),
    ("POST", "/api/holds/\u00b2/release", {"json": {"reason": "x"}}, 400, "number"),
    ("DELETE", "/api/bookmarks/\u00b2", {}, 400, "number"),
    ("GET", "/api/nope", {}, 404, "no such resource"),
    ("PUT", "/api/cameras", {}, 405, "not allowed"),
    ("POST", "/api/login", {"data": b"name=a&password=b", "headers": {"Content-Type": "text/plain"}}, 400,
     "application/json"),
])
async def test_bad_requests(api: Api, method: str, path: str, kwargs: dict[str, object], status: int,
                            needle: str) -> None:
    headers = api.auth("district") | {"Content-Type": "application/json"} | dict(kwargs.pop("headers", {}))  # type: ignore[call-overload]
    response = await api.client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert needle in body["detail"] and body["status"] == status
    assert "Traceback" not in body["detail"]


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer vigil_t_forged", "Bearer " + "x" * 5000])
async def test_bad_tokens_are_401(api: Api, header: str) -> None:
    response = await api.client.get("/api/me", headers={"Authorization": header})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# Issue 12 #9: times past 2262-04-11 overflowed SQLite's int64 nanoseconds (500); every time a client
# sends goes through the one parser (core.timebase.parse_time_ns), bounded to 1970..2199.
FAR = ["2262-04-12T00:00:00Z", "9999-12-31T23:59:59Z", "10000000000", "2200-01-01T00:00:00Z"]
TIME_INPUTS = [
    ("GET", "/api/cameras/hs-cam/segments?start={t}", None),
    ("GET", "/api/cameras/hs-cam/segments?end={t}", None),
    ("GET", "/api/cameras/hs-cam/motion?end={t}", None),
    ("GET", "/api/cameras/hs-cam/clip.mp4?end={t}", None),
    ("GET", "/api/cameras/hs-cam/timeline?end={t}", None),
    ("GET", "/api/audit?start={t}", None),
    ("GET", "/api/holds?start={t}", None),
    ("GET", "/api/bookmarks?end={t}", None),
    ("GET", "/api/door-events?end={t}", None),
    ("POST", "/api/holds", {"cameras": ["hs-cam"], "start": "2026-01-01T00:00:00Z", "end": "{t}", "reason": "x"}),
    ("POST", "/api/holds", {"cameras": ["hs-cam"], "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z",
                            "until": "{t}", "reason": "x"}),
    ("POST", "/api/bookmarks", {"camera": "hs-cam", "start": "{t}", "headline": "x"}),
    ("POST", "/api/exports", {"cameras": ["hs-cam"], "start": "2026-01-01T00:00:00Z", "end": "{t}", "reason": "x"}),
    ("POST", "/api/links", {"cameras": ["hs-cam"], "reason": "x", "playback": True, "playback_end": "{t}"}),
]


@pytest.mark.parametrize("far", FAR)
@pytest.mark.parametrize(("method", "path", "body"), TIME_INPUTS)
async def test_times_beyond_the_product_range_are_400(api: Api, method: str, path: str, body: dict[str, str] | None,
                                                      far: str) -> None:
    filled = None if body is None else {k: v.replace("{t}", far) if isinstance(v, str) else v for k, v in body.items()}
    response = await api.client.request(method, path.replace("{t}", far), json=filled, headers=api.auth("district"))
    assert response.status == 400, await response.text()
    assert response.content_type == "application/problem+json"
    assert "out of range (1970 to 2199)" in (await response.json())["detail"]


async def test_the_last_time_in_range_is_taken(api: Api) -> None:
    response = await api.client.get("/api/cameras/hs-cam/segments?start=2199-12-31T00:00:00Z&end=2199-12-31T23:59:59Z",
                                    headers=api.auth("district"))
    assert response.status == 200, await response.text()


LEVELS = 12_000  # far past Python's recursion limit, and within the webhook's 64 KiB body limit


def _json_posts() -> list[str]:
    return [r.path for r in ROUTES if r.method == "POST" and r.body is not None
            and r.body_content_type == "application/json"]


@pytest.mark.parametrize("path", _json_posts())
@pytest.mark.parametrize(("body", "needle"), [
    (b"[" * LEVELS + b"]" * LEVELS, "at most 64 are accepted"), (b'{"a":' * LEVELS, "at most 64 are accepted"),
    (b"[" * LEVELS, "at most 64 are accepted"),
    # valid JSON syntax, but not text: SQLite's UTF-8 encoder raised (500), /api/login included
    (b'{"name": "\\ud800", "password": "x", "reason": "\\udfff", "headline": "\\ud800"}', "surrogate"),
], ids=["nested-arrays", "nested-objects", "unclosed", "lone-surrogate"])
async def test_deeply_nested_json_is_400_on_every_json_post(api: Api, path: str, body: bytes, needle: str) -> None:
    """Issue 12 #9: deep nesting raised RecursionError (500) on every JSON POST, /api/login included
    (the routes come from the route table, so a new JSON POST is covered too); lone surrogates too."""
    hold_id = api.services.env.index.add_hold("hs-cam", 0, 10**9, "deep json", "user:district", api.clock.now_ns)
    url = path.replace("{hold_id}", str(hold_id))
    if "{incident_id}" in url:  # an open incident, so that only the body can be wrong
        declared = await incidents.declare(api.services.env, worker_caller(api.clock.now_ns), building="hs",
                                           cameras=[], reason="deep json", via=DeclaredVia.API)
        url = url.replace("{incident_id}", str(declared.incident.id))
    headers = {"Content-Type": "application/json"} | ({} if path == "/api/login" else api.auth(
        "door-system" if path == "/api/door-events" else "district"))
    response = await api.client.post(url, data=body, headers=headers)
    assert response.status == 400, await response.text()
    assert response.content_type == "application/problem+json"
    assert needle in (await response.json())["detail"]


async def _raw(api: Api, request: bytes) -> bytes:
    """The status line of one raw HTTP/1.1 exchange (bytes no HTTP client library would send)."""
    reader, writer = await asyncio.open_connection(api.client.server.host, api.client.server.port)
    writer.write(request)
    await writer.drain()
    status = await reader.readline()
    writer.close()
    return status.strip()


@pytest.mark.parametrize("header", [
    b"Authorization: Bearer vigil_t_\xc3\xa9\xff", b"Cookie: vigil_session=\xff\xfe",
    b"Cookie: vigil_link=\xed\xa0\x80",
])
async def test_credentials_that_are_not_ascii_are_401_not_500(api: Api, header: bytes) -> None:
    """Header bytes that are not UTF-8 became surrogates that the token's hash could not encode (500)."""
    status = await _raw(api, b"GET /api/me HTTP/1.1\r\nHost: x\r\n" + header + b"\r\nConnection: close\r\n\r\n")
    assert status == b"HTTP/1.1 401 Unauthorized"


@pytest.mark.parametrize("csrf", [b"caf\xc3\xa9", b"\xff\xfe"])
async def test_a_csrf_header_that_is_not_ascii_is_403_not_500(api: Api, csrf: bytes) -> None:
    login = await api.client.post("/api/login", json={"name": "hs-admin", "password": PASSWORD})
    cookie = login.cookies["vigil_session"].value.encode()
    status = await _raw(api, b"POST /api/logout HTTP/1.1\r\nHost: x\r\nCookie: vigil_session=" + cookie
                        + b"\r\nX-CSRF-Token: " + csrf + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    assert status == b"HTTP/1.1 403 Forbidden"


@pytest.mark.parametrize("request_line", [
    b"GET /l/vigil_l_%ff%fe HTTP/1.1", b"POST /api/door-events HTTP/1.1",
])
async def test_other_credentials_with_bytes_that_are_not_text(api: Api, request_line: bytes) -> None:
    head = (request_line + b"\r\nHost: x\r\nVigil-Timestamp: \xff1\r\nVigil-Signature: sha256=\xff\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    status = await _raw(api, head)
    assert status.split(b" ")[1] in (b"400", b"401", b"404"), status
