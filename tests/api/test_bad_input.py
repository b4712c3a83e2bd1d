"""Malformed input gets a 4xx problem+json with a clear message: never a 500, never internals."""

from __future__ import annotations

import pytest
from api_harness import Api


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
