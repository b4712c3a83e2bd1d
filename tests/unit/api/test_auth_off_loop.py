"""Every request's credential lookup runs on a database thread, not on the event loop (issue 13:
SQLite blocks, behind the index lock that recorder threads take too)."""

from __future__ import annotations

import threading

import pytest

from tests.support.api_harness import Api
from vigil.core.permissions import LinkSubject, UserSubject
from vigil.store.accounts import Accounts


async def test_token_lookup_is_off_the_loop(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real = Accounts.authenticate

    def recorded(self: Accounts, token: str, now_ns: int) -> tuple[UserSubject | LinkSubject, str | None]:
        threads.append(threading.current_thread().name)
        return real(self, token, now_ns)

    monkeypatch.setattr(Accounts, "authenticate", recorded)
    assert (await api.client.get("/api/me", headers=api.auth("hs-viewer"))).status == 200
    assert (await api.client.get("/api/me", headers={"Authorization": "Bearer vigil_t_unknown"})).status == 401
    assert len(threads) == 2 and all(t.startswith("vigil-db") for t in threads), threads
