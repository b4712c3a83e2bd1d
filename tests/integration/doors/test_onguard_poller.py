"""The OnGuard poller against an OpenAccess server checked by Stoplight Prism from LenelS2's published
description: `prism mock` for the conformance of the poller's requests, and a scenario server behind
`prism proxy --errors` (every request and response validated) for paging, an expired session and an
outage followed by backfill. The sink is an in-memory implementation of vigil's own seam."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.door_sink import MemorySink, eventually
from tests.support.http_call import free_port
from tests.support.openaccess_sim import APPLICATION_ID, PASSWORD, USER, Prism, ScenarioServer, logged_event
from vigil.config import OnGuardConfig
from vigil.core import onguard as og
from vigil.core.backoff import BackoffPolicy
from vigil.core.door_events import DoorEventKind
from vigil.doors.onguard.client import OnGuardClient, OnGuardRefusedError, OnGuardUnavailableError
from vigil.doors.onguard.poller import OnGuardPoller

FAST = BackoffPolicy(first_delay_s=0.2, max_delay_s=0.5)
VIOLATIONS = ("VIOLATIONS", "UNPROCESSABLE_ENTITY", "Violation:")


@pytest.fixture(scope="module")
def scenario() -> Iterator[ScenarioServer]:
    server = ScenarioServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy(scenario: ScenarioServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prism]:
    prism = Prism(tmp_path_factory.mktemp("prism"), f"http://127.0.0.1:{scenario.port}")
    yield prism
    prism.stop()


@pytest.fixture
def server(scenario: ScenarioServer, proxy: Prism) -> Iterator[ScenarioServer]:
    """The scenario server, fresh, behind Prism; the test fails if Prism saw a spec violation."""
    scenario.reset()
    before = len(proxy.log)
    yield scenario
    violations = [line for line in proxy.log[before:].splitlines() if any(v in line for v in VIOLATIONS)]
    assert not violations, "Prism found requests or responses that break the OpenAccess spec:\n" + "\n".join(
        violations)


def config(url: str, **kw: Any) -> OnGuardConfig:
    base: dict[str, Any] = {"url": url, "application_id": APPLICATION_ID, "user": USER, "password": PASSWORD,
                            "poll_interval_s": 0.2, "overlap_s": 30.0, "first_lookback_s": 600.0, "page_size": 100}
    return OnGuardConfig(**(base | kw))


@contextlib.asynccontextmanager
async def running(poller: OnGuardPoller) -> AsyncIterator[None]:
    task = asyncio.create_task(poller.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_paging_mapping_and_cursor(server: ScenarioServer, proxy: Prism) -> None:
    now = time.time()
    server.add(*(logged_event(i, now - 300 + i, "Access Granted") for i in range(1, 231)))
    server.add(logged_event(900, now - 20, "Access Denied: Invalid Badge", event_text="Badge 12345678 expired"),
               logged_event(901, now - 19, "Door Forced Open"),
               logged_event(902, now - 18, "Door Forced Open Restored", badge_id=0, badge_id_str=""),
               logged_event(903, now - 17, "Fire Panel Trouble"),
               logged_event(904, now - 16, "Access Granted", duress=True),
               logged_event(905, now - 15, "Gate Buzz", event_type=99),
               logged_event(1, now - 5000, "Access Granted"))  # before the first lookback: not fetched
    sink = MemorySink()
    poller = OnGuardPoller(config(proxy.url, kinds=(("Gate Buzz", DoorEventKind.INTERCOM_CALL),)), sink,
                           backoff=FAST)
    async with running(poller):
        await eventually(lambda: len(sink.events) == 236 and "onguard" in sink.cursors, 60, "all pages")
    pages = {q["page_number"] for m, p, q in server.requests if p == "/logged_events"}
    assert {"1", "2", "3"} <= pages  # 236 events in pages of 100
    assert all(q["version"] == "1.0" and q["page_size"] == "100" for m, p, q in server.requests if m == "GET")
    by_serial = {e.event_id.split("/")[1]: e for e in sink.events.values()}
    assert by_serial["900"].kind is DoorEventKind.ACCESS_DENIED
    assert by_serial["900"].reason == "Access Denied: Invalid Badge - Badge 12345678 expired"
    assert by_serial["900"].access_point == "1.7" and by_serial["900"].credential == "12345678"
    assert by_serial["900"].cardholder == "Pat Doe"
    assert by_serial["901"].kind is DoorEventKind.DOOR_FORCED_OPEN
    assert by_serial["902"].kind is DoorEventKind.DOOR_RESTORED and by_serial["902"].credential is None
    assert by_serial["903"].kind is DoorEventKind.OTHER and by_serial["903"].reason == "Fire Panel Trouble"
    assert by_serial["904"].kind is DoorEventKind.DURESS
    assert by_serial["905"].kind is DoorEventKind.INTERCOM_CALL  # the site's own table entry
    assert json.loads(by_serial["903"].raw or "{}")["description"] == "Fire Panel Trouble"
    cursor = og.parse_cursor(sink.cursors["onguard"])
    assert cursor is not None and abs(cursor / 1e9 - time.time()) < 60
    assert server.logins == 1 and not sink.health  # no outage was recorded


async def test_events_dated_outside_the_sinks_window_are_dropped_and_counted(
        server: ScenarioServer, proxy: Prism, caplog: pytest.LogCaptureFixture) -> None:
    now = time.time()
    server.add(logged_event(1, now - 300, "Access Denied"), logged_event(2, now - 200, "Access Denied"),
               logged_event(3, now - 5, "Access Denied"))
    sink = MemorySink(window=(60.0, 300.0))  # [door_events] occurred_max_past_s = 60
    poller = OnGuardPoller(config(proxy.url), sink, backoff=FAST)
    async with running(poller):
        await eventually(lambda: "onguard" in sink.cursors, 30, "a completed poll")
    assert [e.event_id.split("/")[1] for e in sink.events.values()] == ["3"]
    assert poller.out_of_window_events == 2 and poller.events_submitted == 1
    assert not sink.health  # not an outage: the cursor moved on
    assert caplog.text.count("before the appliance's clock") == 1  # logged once, then counted


async def test_a_record_with_a_lone_surrogate_does_not_stop_polling(server: ScenarioServer, proxy: Prism) -> None:
    """One bad character (a lone UTF-16 surrogate escape in a name) must not refuse the whole page."""
    server.add(logged_event(1, time.time() - 5, "Access Denied", cardholder_last_name="Do\ud800e"),
               logged_event(2, time.time() - 4, "Access Granted"))
    sink = MemorySink()
    poller = OnGuardPoller(config(proxy.url), sink, backoff=FAST)
    async with running(poller):
        await eventually(lambda: len(sink.events) == 2, 30, "both events")
    assert not sink.health
    (denied,) = [e for e in sink.events.values() if e.kind is DoorEventKind.ACCESS_DENIED]
    assert denied.cardholder == "Pat Do\ufffde"


async def test_windows_overlap_so_late_events_are_fetched(server: ScenarioServer, proxy: Prism) -> None:
    sink = MemorySink()
    poller = OnGuardPoller(config(proxy.url, overlap_s=30.0), sink, backoff=FAST)
    async with running(poller):
        await eventually(lambda: poller.polls >= 2, 30, "two polls")
        # A panel uploads its buffer late: logged 10 s ago, i.e. before the cursor, inside the overlap.
        server.add(logged_event(77, time.time() - 10, "Access Denied"))
        await eventually(lambda: len(sink.events) == 1, 30, "the late event")
    first, later = server.filters[0], server.filters[-1]
    assert later[0] < first[1]  # each window starts before the previous one ended


async def test_expired_session_logs_in_again_once(server: ScenarioServer, proxy: Prism) -> None:
    sink = MemorySink()
    poller = OnGuardPoller(config(proxy.url), sink, backoff=FAST)
    async with running(poller):
        await eventually(lambda: poller.polls >= 1, 30, "a first poll")
        server.expire_sessions()
        server.add(logged_event(5, time.time() - 1, "Door Held Open"))
        await eventually(lambda: len(sink.events) == 1, 30, "the event after the session expired")
    assert server.logins == 2
    assert not sink.health  # an expired session is not an outage


async def test_outage_then_backfill_from_the_cursor(server: ScenarioServer, proxy: Prism,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sink = MemorySink()
    # A 1 s overlap: what was logged during the (longer) outage comes back only through the cursor.
    poller = OnGuardPoller(config(proxy.url, overlap_s=1.0), sink, backoff=FAST)
    async with running(poller):
        await eventually(lambda: poller.polls >= 1, 30, "a first poll")
        cursor_before = og.parse_cursor(sink.cursors["onguard"])
        server.outage = True
        await eventually(lambda: bool(sink.health), 30, "the outage")
        assert "503" in str(sink.health[0][2])
        for i in range(3):
            server.add(logged_event(40 + i, time.time() - 0.5, "Access Denied"))
        await asyncio.sleep(2.5)  # longer than the overlap
        assert og.parse_cursor(sink.cursors["onguard"]) == cursor_before  # not moved while down
        server.outage = False
        await eventually(lambda: len(sink.events) == 3, 30, "the backfill")
    assert [h[1] for h in sink.health] == ["down", "up"]
    assert PASSWORD not in caplog.text


async def test_connection_refused_is_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    sink = MemorySink()
    poller = OnGuardPoller(config(f"http://127.0.0.1:{free_port()}"), sink, backoff=FAST)
    async with running(poller):
        await eventually(lambda: bool(sink.health), 30, "the outage")
    assert sink.health[0][1] == "down" and "ClientConnectorError" in str(sink.health[0][2])


async def test_refused_login_is_reported_without_the_password(server: ScenarioServer, proxy: Prism,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as http:
        client = OnGuardClient(config(proxy.url, password="not-the-Pa55word"), http)
        with pytest.raises(OnGuardRefusedError, match="invalidcredentials"):
            await client.login()
    assert "not-the-Pa55word" not in caplog.text


async def test_requests_conform_to_the_spec_per_prism_mock(tmp_path: Path) -> None:
    """Prism's mock answers only requests that follow the spec (else 422/401); the poller's do."""
    mock = await asyncio.to_thread(Prism, tmp_path)
    try:
        async with aiohttp.ClientSession() as http:
            client = OnGuardClient(config(mock.url), http)
            await client.login()  # 200 with the example token
            window = og.Window(int((time.time() - 60) * 1e9), int(time.time() * 1e9))
            with pytest.raises(og.ProtocolError, match="asked for page 1"):
                await client.events_page(window, 1)  # 200; the static example's page number is not 1
            await client.logout()
            # The same request without the required filter is refused by Prism: it does check.
            bad = og.Request("GET", "/logged_events", {"version": "1.0"},
                             {"Application-Id": APPLICATION_ID, "Session-Token": "t"})
            status, _ = await client._send(bad)
            assert status == 422
            with pytest.raises(OnGuardUnavailableError):
                await OnGuardClient(config(f"http://127.0.0.1:{free_port()}"), http).login()
    finally:
        mock.stop()
    violations = [line for line in mock.log.splitlines() if "Violation:" in line]
    assert len(violations) == 1 and "'filter'" in violations[0]  # only the deliberately bad request
