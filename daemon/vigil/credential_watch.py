"""Long-lived responses bound to the credential that opened them (live WebRTC sessions, the door
alert stream): each ends within about a second of that credential no longer granting it.

The decision is pure (core/live_grants.why_session_ends); this is its shell. `run` reads the
state of every bound credential from the index in one batch off the event loop every
`CHECK_INTERVAL_S` (the CLI revokes links and disables users by writing the index from another
process, so nothing in this process hears of it), and at once after `recheck_now`, which
handlers call after a revocation made in this process. Ending a binding calls its `on_end`
with the reason, once.

When the index cannot be read (locked by another process), bindings go on unchecked for at most
`UNCHECKED_LIMIT_S`; then they end, since revocations could no longer be seen."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from vigil.core.errors import VigilError
from vigil.core.live_grants import CredentialState, why_session_ends
from vigil.core.permissions import Action, Target

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 1.0
UNCHECKED_LIMIT_S = 30.0


class CredentialSource(Protocol):
    def credential_states(self, digests: Collection[str]) -> dict[str, CredentialState]: ...


@dataclass(frozen=True)
class Binding:
    credential: str  # SHA-256 of the token (session, API token or link) that opened the response
    action: Action  # what it must keep granting
    target: Target
    on_end: Callable[[str], Awaitable[None]]  # called once, with the reason


class CredentialWatch:
    def __init__(self, credentials: CredentialSource, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._credentials = credentials
        self._clock_ns = clock_ns
        self._bindings: dict[int, Binding] = {}
        self._ids = itertools.count(1)
        self._recheck = asyncio.Event()
        self._checked_monotonic = time.monotonic()

    def bind(self, binding: Binding) -> int:
        """Watch one response; the key unbinds it."""
        key = next(self._ids)
        self._bindings[key] = binding
        return key

    def unbind(self, key: int) -> None:
        self._bindings.pop(key, None)

    def __len__(self) -> int:
        return len(self._bindings)

    def recheck_now(self) -> None:
        """Check every binding now (after a revocation in this process)."""
        self._recheck.set()

    async def run(self) -> None:
        """For the daemon's lifetime."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CHECK_INTERVAL_S):
                    await self._recheck.wait()
            self._recheck.clear()
            await self.check()

    async def check(self) -> None:
        """End every binding whose credential no longer grants it: one index read for all."""
        bindings = list(self._bindings.items())
        if not bindings:
            self._checked_monotonic = time.monotonic()
            return
        try:
            states = await asyncio.to_thread(self._credentials.credential_states, {b.credential for _, b in bindings})
        except (sqlite3.Error, VigilError) as error:
            unchecked_s = time.monotonic() - self._checked_monotonic
            log.warning("cannot read credentials of %d open streams for %.0f s: %s", len(bindings), unchecked_s, error)
            if unchecked_s > UNCHECKED_LIMIT_S:
                for key, binding in bindings:
                    await self._end(key, binding, f"its credential could not be checked for {unchecked_s:.0f} s")
            return
        self._checked_monotonic = time.monotonic()
        now_ns = self._clock_ns()
        for key, binding in bindings:
            reason = why_session_ends(states.get(binding.credential), binding.action, binding.target, now_ns)
            if reason is not None:
                await self._end(key, binding, reason)

    async def _end(self, key: int, binding: Binding, reason: str) -> None:
        if self._bindings.pop(key, None) is not None:
            await binding.on_end(reason)
