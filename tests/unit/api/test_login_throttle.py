"""Login throttling under concurrency (issue 12, finding 4): bursts of parallel wrong guesses over real
HTTP get at most `login_max_failures` Argon2id checks, and a correct password in the burst after the
limit is refused. The password checks are counted by wrapping the real `verify_password`."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from aiohttp import ClientResponse

import vigil.services.accounts
from tests.support.api_harness import PASSWORD, Api
from vigil.passwords import verify_password

MAX_FAILURES = 5  # [access] login_max_failures, the harness's default


class Checks:
    """How many password checks the login handler started (each one is a real Argon2id verify)."""

    def __init__(self) -> None:
        self.started = 0
        self._lock = threading.Lock()

    def wrap(self, real: Callable[[str | None, str], bool]) -> Callable[[str | None, str], bool]:
        def counted(password_hash: str | None, password: str) -> bool:
            with self._lock:
                self.started += 1
            return real(password_hash, password)
        return counted


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Checks]:
    counter = Checks()
    monkeypatch.setattr(vigil.services.accounts, "verify_password", counter.wrap(verify_password))
    yield counter


async def _login(api: Api, password: str) -> ClientResponse:
    response = await api.client.post("/api/login", json={"name": "hs-admin", "password": password})
    await response.read()
    return response


def _outcomes(api: Api) -> list[str]:
    return [e.outcome for e in api.services.env.audit.entries(action="login")]


@pytest.mark.parametrize("burst", [40, 120])
async def test_parallel_wrong_guesses_get_at_most_the_limit_of_checks(api: Api, checks: Checks, burst: int) -> None:
    responses = await asyncio.gather(*(_login(api, f"wrong guess {i}") for i in range(burst)))
    statuses = [r.status for r in responses]
    assert set(statuses) <= {401, 429}
    assert checks.started <= MAX_FAILURES, f"{checks.started} password checks for a limit of {MAX_FAILURES}"
    assert statuses.count(401) == MAX_FAILURES - 1 and statuses.count(429) == burst - MAX_FAILURES + 1
    assert sorted(_outcomes(api)) == ["failed"] * (MAX_FAILURES - 1) + ["locked"]


async def test_correct_password_in_the_burst_after_the_limit_is_refused(api: Api, checks: Checks) -> None:
    wrong = [asyncio.create_task(_login(api, f"wrong guess {i}")) for i in range(29)]
    deadline = time.monotonic() + 30
    while checks.started < MAX_FAILURES:  # the limit's worth of guesses are being checked ...
        assert time.monotonic() < deadline, "the server never started checking the guesses"
        await asyncio.sleep(0.001)
    right = asyncio.create_task(_login(api, PASSWORD))  # ... when the 30th attempt, the right one, arrives
    wrong += [asyncio.create_task(_login(api, f"late guess {i}")) for i in range(10)]
    assert (await right).status == 429
    await asyncio.gather(*wrong)
    assert checks.started <= MAX_FAILURES
    assert "ok" not in _outcomes(api)
    api.clock.now_ns += 16 * 60 * 10**9  # after the lockout the right password works again
    assert (await _login(api, PASSWORD)).status == 200
