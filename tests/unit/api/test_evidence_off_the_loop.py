"""The bookmark, hold and export handlers never call the index on the event loop (issue 13): a
call there waits on the index's lock, which recorder threads also take, and stalls every other
request. Their services run SQLite on the database threads (services/env.py)."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.support.api_harness import Api
from tests.support.index_rows import T0, S, iso, record
from vigil.exports.package import exports_dir
from vigil.store.exports import ExportStore
from vigil.store.index import Index

HANDLERS = ("api/holds.py", "api/exports.py", "api/clips.py", "/services/")


@pytest.fixture
def on_the_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Where each index call made on the event loop by these handlers (or their services) came from."""
    calls: list[str] = []
    holding = Index._holding

    def spy(self: Index, wait_s: float | None, *, write: bool = True) -> AbstractContextManager[object]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return holding(self, wait_s, write=write)  # a database thread: fine
        frames = [f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}"
                  for f in traceback.extract_stack() if any(h in f.filename for h in HANDLERS)]
        if frames:
            calls.append(" <- ".join(reversed(frames)))
        return holding(self, wait_s, write=write)

    monkeypatch.setattr(Index, "_holding", spy)
    yield calls


async def test_evidence_handlers_leave_sqlite_to_the_database_threads(api: Api, on_the_loop: list[str]) -> None:
    record(api.services.env.index, "hs-cam", T0, [60, 60], "shutdown")
    auth = api.auth("hs-admin")

    async def call(method: str, path: str, body: object = None) -> object:
        response = await api.client.request(method, path, headers=auth, json=body)
        assert response.status < 300, await response.text()
        return await response.json() if response.content_type == "application/json" else None

    mark = await call("POST", "/api/bookmarks", {"camera": "hs-cam", "start": iso(T0), "headline": "bell"})
    await call("GET", "/api/bookmarks?camera=hs-cam")
    await call("DELETE", f"/api/bookmarks/{mark['id']}")  # type: ignore[index]
    held = await call("POST", "/api/holds", {"cameras": ["hs-cam"], "start": iso(T0), "end": iso(T0 + 60 * S),
                                             "reason": "case 9"})
    await call("GET", "/api/holds")
    await call("POST", f"/api/holds/{held['holds'][0]['id']}/release", {"reason": "closed"})  # type: ignore[index]
    export = await call("POST", "/api/exports", {"cameras": ["hs-cam"], "start": iso(T0), "end": iso(T0 + 120 * S),
                                                 "reason": "incident"})
    export_id = export["id"]  # type: ignore[index]
    await call("GET", f"/api/exports/{export_id}")
    ExportStore(api.services.env.index).finish(export_id, "pkg.zip", 3, "ab" * 32, T0)
    exports_dir(api.services.config).mkdir(parents=True, exist_ok=True)
    (exports_dir(api.services.config) / "pkg.zip").write_bytes(b"zip")
    await call("GET", f"/api/exports/{export_id}/download")
    assert [e.action for e in api.services.env.audit.entries(actor="user:hs-admin")] == [
        "bookmark.create", "bookmark.delete", "hold.create", "hold.release", "hold.create", "export.create",
        "export.download"]
    assert on_the_loop == []
