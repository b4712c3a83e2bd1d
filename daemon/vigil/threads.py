"""Blocking work (PyAV demux, muxing, fsync) on dedicated threads, awaited from the event loop.

asyncio.to_thread's shared pool is sized for short jobs (6 workers on 2 cores); camera sessions
and recorders live as long as the daemon, so each gets its own thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable


async def run_in_thread(name: str, body: Callable[[], None]) -> None:
    """Run `body` on a new daemon thread and wait for it. Cancelling the waiter does not stop the
    thread: the caller stops it through its own stop signal and awaits again if it must."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def target() -> None:
        outcome: BaseException | None = None
        try:
            body()
        except BaseException as error:  # handed to the awaiting task, which re-raises it
            outcome = error
        # The loop may be gone when an abandoned thread (a hung camera) ends after shutdown.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, done, outcome)

    threading.Thread(target=target, name=name, daemon=True).start()
    await asyncio.shield(done)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
