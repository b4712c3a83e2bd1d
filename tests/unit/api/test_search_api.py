"""GET /api/search and GET /api/exports over HTTP: the answer's shape, a bad FTS5 query as a
problem+json 400, listings filtered per item."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.support.api_harness import Api
from tests.support.index_rows import T0, S, iso, record


async def call(api: Api, who: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    response = await api.client.request(method, path, headers=api.auth(who), json=body)
    return response.status, await response.json()


async def test_search_answers_matches_with_snippets_and_items(api: Api) -> None:
    status, mark = await call(api, "hs-viewer", "POST", "/api/bookmarks", {
        "camera": "hs-cam", "start": iso(T0), "end": iso(T0 + 30 * S), "headline": "Door propped open",
        "description": "east wing, chair in the door"})
    assert status == 201
    status, created = await call(api, "hs-admin", "POST", "/api/holds", {
        "cameras": ["hs-cam"], "start": iso(T0), "end": iso(T0 + 60 * S), "reason": "door incident",
        "case_id": "PD-2026-0412"})
    assert status == 201
    [hold] = created["holds"]
    await call(api, "district", "POST", "/api/bookmarks", {"camera": "ms-cam", "start": iso(T0),
                                                           "headline": "ms door"})

    status, body = await call(api, "hs-viewer", "GET", "/api/search?q=door")
    assert status == 200
    assert (body["q"], body["match"], body["truncated"]) == ("door", '"door"*', False)
    [result] = body["results"]  # no ms bookmark; no hold (a viewer manages none)
    assert (result["kind"], result["id"], result["item"]["headline"]) == ("bookmark", mark["id"], "Door propped open")
    assert {"text": "Door", "match": True} in result["snippet"]

    status, body = await call(api, "hs-admin", "GET", f"/api/search?q={quote('PD-2026-0412')}&kind=hold")
    assert status == 200
    [result] = body["results"]
    assert (result["kind"], result["id"], result["item"]["case_id"], result["item"]["state"]) == (
        "hold", hold["id"], "PD-2026-0412", "active")
    assert [s["text"] for s in result["snippet"] if s["match"]] == ["PD-2026-0412"]

    status, body = await call(api, "district", "GET", f"/api/search?q={quote('headline: door NOT propped')}")
    assert status == 200 and [r["item"]["headline"] for r in body["results"]] == ["ms door"]


@pytest.mark.parametrize(("query", "needle"), [
    (quote('door OR "'), "cannot be read"),
    (quote("camera: x"), "no such column: camera"),
    ("", "q is required"),
    ("door&kind=export", "kind must be"),
    ("door&limit=0", "limit must be"),
])
async def test_a_bad_search_is_a_problem(api: Api, query: str, needle: str) -> None:
    response = await api.client.get(f"/api/search?q={query}", headers=api.auth("hs-viewer"))
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert needle in body["detail"] and body["status"] == 400 and "Traceback" not in body["detail"]


async def test_searching_needs_a_role_that_bookmarks(api: Api) -> None:
    for who in ("installer", "door-system"):
        status, body = await call(api, who, "GET", "/api/search?q=door")
        assert status == 403 and body["title"] == "Forbidden"


async def test_exports_listing_is_filtered_per_export(api: Api) -> None:
    for camera in ("hs-cam", "ms-cam"):
        record(api.services.env.index, camera, T0, [60], "shutdown")  # rows only: the exports stay queued
    base = {"start": iso(T0), "end": iso(T0 + 60 * S), "reason": "incident"}
    status, hs = await call(api, "hs-admin", "POST", "/api/exports", base | {"cameras": ["hs-cam"]})
    assert status == 202, hs
    status, both = await call(api, "district", "POST", "/api/exports", base | {"cameras": ["hs-cam", "ms-cam"]})
    assert status == 202, both
    status, listed = await call(api, "district", "GET", "/api/exports")
    assert status == 200 and [e["id"] for e in listed] == [both["id"], hs["id"]]
    assert listed[1] == hs  # the same shape as the export's own status
    status, listed = await call(api, "hs-admin", "GET", "/api/exports")
    assert status == 200 and [e["id"] for e in listed] == [hs["id"]]
    assert (await call(api, "district", "GET", "/api/exports?state=queued&limit=1"))[1][0]["id"] == both["id"]
    assert (await call(api, "district", "GET", "/api/exports?state=done"))[1] == []
    for bad, needle in (("state=finished", "state must be"), ("limit=abc", "limit"), ("limit=501", "limit")):
        status, problem = await call(api, "district", "GET", f"/api/exports?{bad}")
        assert status == 400 and needle in problem["detail"]
    assert (await call(api, "hs-viewer", "GET", "/api/exports"))[0] == 403
