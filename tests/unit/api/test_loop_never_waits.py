"""No request makes the event loop wait on SQLite (issue 13): every route, called by each kind of
caller, does its index work on the database threads (services/env.py). An index call on the loop
waits on the index's lock, which recorder threads also take, and stalls every other request.

The spy records index calls made on the loop's thread while a request is served (the request's
task has store.index.SERVING_REQUEST set; the test's own setup calls do not)."""

from __future__ import annotations

import asyncio
import re
import traceback
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.support.api_harness import Api
from tests.support.index_rows import T0, record
from vigil.api.routes import ROUTES
from vigil.store.index import SERVING_REQUEST, Index
from vigil.store.rows import NewBookmark

BODIES: dict[str, dict[str, object]] = {
    "/api/bookmarks": {"building": "hs", "start": "2026-01-01T08:00:00Z", "headline": "loop"},
    "/api/holds": {"buildings": ["hs"], "start": "2026-01-01T08:00:00Z", "end": "2026-01-01T09:00:00Z",
                   "reason": "loop"},
    "/api/holds/{hold_id}/release": {"reason": "loop"},
    "/api/links": {"buildings": ["hs"], "reason": "loop", "live": True},
    "/api/exports": {"cameras": ["hs-cam"], "start": "2026-01-01T08:00:00Z", "end": "2026-01-01T08:01:00Z",
                     "reason": "loop"},
}


@pytest.fixture
def on_the_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    holding = Index._holding

    def spy(self: Index, wait_s: float | None, *, write: bool = True) -> AbstractContextManager[object]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return holding(self, wait_s, write=write)  # a database thread
        if SERVING_REQUEST.get():
            frames = [f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}"
                      for f in traceback.extract_stack() if "/vigil/" in f.filename]
            calls.append(" <- ".join(reversed(frames)))
        return holding(self, wait_s, write=write)

    monkeypatch.setattr(Index, "_holding", spy)
    yield calls


async def test_no_route_waits_on_sqlite_on_the_loop(api: Api, on_the_loop: list[str]) -> None:
    index = api.services.env.index
    record(index, "hs-cam", T0, [60, 60], "shutdown")
    statuses: dict[str, int] = {}
    for caller in ("district", "hs-admin", "hs-viewer", "anonymous"):
        for route in ROUTES:
            if route.content_type == "text/event-stream":
                continue  # the alert stream: long-lived, its own test (test_door_events_api)
            link = await api.client.post("/api/links", headers=api.auth("district"), json=BODIES["/api/links"])
            link_body = await link.json()
            values = {"camera_id": "hs-cam", "link_id": str(link_body["id"]), "session_id": "ended",
                      "export_id": "1", "event_id": "1", "segment_id": "1",
                      "token": str(link_body["url"]).rsplit("/", 1)[1],
                      "bookmark_id": str(index.add_bookmark(NewBookmark("hs-cam", "hs", 0, 10, "x", f"user:{caller}"),
                                                            0)),
                      "hold_id": str(index.add_hold("hs-cam", 0, 10, "x", "user:district", 0))}
            path = re.sub(r"{(\w+)}", lambda m, v=values: v[m.group(1)], route.path)  # type: ignore[misc]
            body = BODIES.get(route.path, {} if route.method == "POST" else None)
            headers = {} if caller == "anonymous" else api.auth(caller)
            response = await api.client.request(route.method, path, headers=headers, json=body)
            await response.read()
            statuses[f"{caller} {route.method} {route.path}"] = response.status
    assert any(s < 300 for s in statuses.values()) and any(s == 403 for s in statuses.values()), statuses
    assert on_the_loop == [], "\n".join(on_the_loop)
