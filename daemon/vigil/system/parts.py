"""The daemon's parts, started and stopped as pairs on one AsyncExitStack (design/appliance.md
"Start and stop").

A part is an async context manager: entering it starts the part, leaving it stops it. `Parts`
enters them in order; leaving it (a normal stop, a part failing at start, or one failing while
the daemon runs) stops the started ones in the reverse order. A part that runs tasks or threads
starts them with `tasks`/`threads`: one of them ending with an error is the daemon's failure,
which `until_stopped` returns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, TypeVar

from vigil.threads import run_in_thread

log = logging.getLogger(__name__)

T = TypeVar("T")


class Parts:
    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        self.running: list[str] = []  # the parts started and not yet stopped, in start order
        self.failure: BaseException | None = None  # the first task or thread of a part that failed
        self._failed = asyncio.Event()

    async def __aenter__(self) -> Parts:
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> bool | None:
        return await self._stack.__aexit__(kind, error, traceback)

    async def start(self, name: str, part: AbstractAsyncContextManager[T]) -> T:
        """Start `part`; it is stopped when the parts are, before the ones started earlier."""
        return await self._stack.enter_async_context(self._named(name, part))

    @contextlib.asynccontextmanager
    async def _named(self, name: str, part: AbstractAsyncContextManager[T]) -> AsyncIterator[T]:
        log.debug("part %s: starting", name)
        started = False
        try:
            async with part as value:
                started = True
                self.running.append(name)
                log.debug("part %s: started", name)
                try:
                    yield value
                finally:
                    self.running.remove(name)
                    log.debug("part %s: stopping", name)
        finally:
            if started:  # also when its stop raised: the parts before it are stopped next
                log.debug("part %s: stopped", name)

    async def until_stopped(self, stopping: asyncio.Event) -> BaseException | None:
        """Wait until `stopping` is set (None) or a part's task or thread fails (its error)."""
        waits = [asyncio.create_task(stopping.wait()), asyncio.create_task(self._failed.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.wait(waits)
        return self.failure

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and self.failure is None:
            log.error("%s failed: %r; stopping", task.get_name(), error)
            self.failure = error
            self._failed.set()

    def _task(self, name: str, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._ended)
        return task

    def thread(self, name: str, body: Callable[[], None]) -> asyncio.Task[None]:
        """Run `body` on a thread of its own whose failure is the daemon's, for a part that starts
        and stops threads while it runs (the cameras, on a reload); that part awaits the task."""
        return self._task(name, run_in_thread(name, body))

    @contextlib.asynccontextmanager
    async def tasks(self, *named: tuple[str, Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
        """Run each (name, coroutine) as a task for the part's life; stopping cancels them."""
        tasks = [self._task(name, coro) for name, coro in named]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)

    @contextlib.asynccontextmanager
    async def threads(self, stop: Callable[[], None], *named: tuple[str, Callable[[], None]],
                      grace_s: float) -> AsyncIterator[None]:
        """Run each (name, body) on a thread of its own for the part's life. Stopping calls `stop`
        (which asks the bodies to return) and waits grace_s for them; a thread still running then
        (a hung camera) is left behind: threads cannot be cancelled."""
        tasks = [self._task(name, run_in_thread(name, body)) for name, body in named]
        try:
            yield
        finally:
            stop()
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=grace_s)
                for task in late:
                    log.warning("thread %s did not end within %.0f s of the stop; leaving it", task.get_name(),
                                grace_s)
                    task.cancel()
                if late:
                    await asyncio.wait(late)
