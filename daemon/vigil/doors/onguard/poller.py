"""The OnGuard poller: one asyncio task per OnGuard server.

Every `poll_interval_s` it fetches the window from its persisted cursor (minus the overlap) to now,
page by page, hands every event to the sink, and only then moves the cursor to the window's end. An
unreachable server is an outage (`sink.source_down`, retried with backoff); when it answers again
(`sink.source_up`) the next window starts at the old cursor, so what was logged meanwhile is
backfilled. At-least-once: the overlap and a crash between submit and save_cursor refetch events,
and the sink de-duplicates them on (source, event_id)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

import aiohttp

from vigil.config import OnGuardConfig
from vigil.core import onguard as og
from vigil.core.backoff import BackoffPolicy
from vigil.core.door_events import OccurredOutOfWindowError
from vigil.core.errors import DiskFullError
from vigil.core.onguard_kinds import KindTable
from vigil.doors.onguard.client import OnGuardClient, OnGuardRefusedError, OnGuardUnavailableError
from vigil.doors.sink import DoorEventSink

log = logging.getLogger(__name__)

# OnGuard is one server, not a fleet of cameras: retry quickly first, then at most once a minute.
BACKOFF = BackoffPolicy(first_delay_s=1.0, max_delay_s=60.0)
MAX_PAGES_PER_POLL = 10_000  # 1,000,000 events: a runaway total_pages cannot loop forever


class OnGuardPoller:
    def __init__(self, config: OnGuardConfig, sink: DoorEventSink, *, clock: Callable[[], int] = time.time_ns,
                 jitter: Callable[[], float] = random.random, backoff: BackoffPolicy = BACKOFF) -> None:
        self.config = config
        self.sink = sink
        self.clock = clock
        self.jitter = jitter
        self.backoff = backoff
        self.kinds = KindTable.with_overrides(dict(config.kinds))
        self.down_reason: str | None = None
        self.up = False
        self.events_submitted = 0
        self.polls = 0
        self.unreadable_events = 0
        self.out_of_window_events = 0  # dated too far from now ([door_events] occurred_max_*_s)

    @property
    def source(self) -> str:
        return self.config.source

    async def run(self) -> None:
        if self.config.url.startswith("https:") and not self.config.verify_tls:
            log.warning("onguard %s: TLS certificates are NOT verified (verify_tls = false)", self.source)
        async with aiohttp.ClientSession() as http:
            client = OnGuardClient(self.config, http)
            try:
                await self._loop(client)
            finally:
                await client.logout()

    async def _loop(self, client: OnGuardClient) -> None:
        attempt = 0
        while True:
            try:
                await self.poll_once(client)
            except (OnGuardUnavailableError, OnGuardRefusedError, og.ProtocolError, DiskFullError) as error:
                # a full index: the cursor did not move, so the same events are fetched again
                await self._down(str(error))
                refused = isinstance(error, OnGuardRefusedError)
                delay_s = self.backoff.delay_s(attempt if not refused else 30, self.jitter())
                attempt += 1
                await asyncio.sleep(delay_s)
                continue
            attempt = 0
            await asyncio.sleep(self.config.poll_interval_s)

    async def _down(self, reason: str) -> None:
        if self.down_reason is None:
            log.warning("onguard %s: unreachable (%s); retrying with backoff", self.source, reason)
        self.down_reason, self.up = reason, False
        await self.sink.source_down(self.source, reason[:200], self.clock())

    async def poll_once(self, client: OnGuardClient) -> og.Window:
        """Fetch and submit one window; the cursor moves only when every page was submitted."""
        c = self.config
        cursor = og.parse_cursor(await self.sink.load_cursor(self.source))
        window = og.next_window(cursor, self.clock(), overlap_s=c.overlap_s, first_lookback_s=c.first_lookback_s,
                                max_backfill_s=c.max_backfill_s)
        page_number = 1
        while True:
            page = await client.events_page(window, page_number)
            if not self.up:
                self.up = True
                if self.down_reason is not None:
                    log.info("onguard %s: reachable again; backfilling from the cursor", self.source)
                self.down_reason = None
                await self.sink.source_up(self.source, self.clock())
            for item in page.items:
                await self._submit(item)
            if page.last:
                break
            if page_number >= MAX_PAGES_PER_POLL:
                log.warning("onguard %s: more than %d pages in one window; the rest of the window is skipped",
                            self.source, MAX_PAGES_PER_POLL)
                break
            page_number += 1
        await self.sink.save_cursor(self.source, og.format_cursor(window.end_wall_ns))
        self.polls += 1
        return window

    async def _submit(self, item: dict[str, object]) -> None:
        try:
            event = og.to_door_event(item, self.source, self.kinds, self.config.server_tz)
        except og.ProtocolError as error:
            if self.unreadable_events == 0:
                log.warning("onguard %s: skipping an unreadable logged event (%s)", self.source, error)
            self.unreadable_events += 1
            return
        try:
            await self.sink.submit(event, self.clock())
        except OccurredOutOfWindowError as error:  # the cursor moves on: refetching would not help
            if self.out_of_window_events == 0:
                log.warning("onguard %s: skipping logged event %s (%s); further ones are only counted", self.source,
                            event.event_id, error)
            self.out_of_window_events += 1
            return
        self.events_submitted += 1
