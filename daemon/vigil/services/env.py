"""What services work with: the configuration and the index, and the threads their SQLite work
runs on.

SQLite calls block (our lock, then SQLite's busy timeout, while recorder threads write), so no
service runs them on the event loop: `ServiceEnv.run` hands a function to a small pool of its
own. The pool is bounded (DB_THREADS): a burst of requests queues there instead of taking every
thread of the loop's default executor, which the door service and exports also use. The caller's
context variables go along (store.index.SERVING_REQUEST: a request waits for the index the short
time of the loop, and gets a 503 instead of stalling)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from vigil.config import Config
from vigil.config.live import LiveConfig
from vigil.secret_keys import ensure_key
from vigil.store.accounts import Accounts
from vigil.store.audit_log import AuditLog
from vigil.store.index import SERVING_REQUEST, Index

T = TypeVar("T")
INCIDENT_KEY_RELPATH = Path("keys") / "incident-links.key"
DB_THREADS = 4  # one writer at a time (the index's lock); the others read on the read connection


@dataclass(frozen=True)
class IncidentChange:
    """An incident was declared, joined or ended: told to `ServiceEnv.incident_listeners` on the
    event loop after the change committed (deliveries wake, the alert feed tells the pages)."""

    incident_id: int
    building_id: str
    what: str  # "declared", "joined", "ended"


@dataclass
class ServiceEnv:
    live: LiveConfig  # the running configuration: a reload swaps it (config/live.py)
    index: Index
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(DB_THREADS, thread_name_prefix="vigil-db"))
    incident_listeners: list[Callable[[IncidentChange], None]] = field(default_factory=list)
    _link_key: bytes | None = None

    def link_key(self) -> bytes:
        """The incident link key (core.incidents.link_token), made on first use; blocking (a
        database thread's work)."""
        if self._link_key is None:
            self._link_key = ensure_key(self.config.storage.path / INCIDENT_KEY_RELPATH, "incident link key")
        return self._link_key

    def incident_changed(self, change: IncidentChange) -> None:
        for listener in list(self.incident_listeners):
            listener(change)

    @property
    def config(self) -> Config:
        """The configuration as of now (cameras and buildings change with a reload)."""
        return self.live.current

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self.index)

    @property
    def accounts(self) -> Accounts:
        return Accounts(self.index)

    async def run(self, fn: Callable[[], T]) -> T:
        """fn() on a database thread, with the caller's context variables."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._pool, context.run, fn)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def mark_serving_request() -> None:
    """The current task serves an API request: its index calls (also on database threads, which
    get the task's context) wait the short time of the loop and answer 503 instead of stalling."""
    SERVING_REQUEST.set(True)


@contextmanager
def service_env(config: Config, now_wall_ns: int, *, readonly: bool = False) -> Iterator[ServiceEnv]:
    """A ServiceEnv over the configuration's index, for a command outside the daemon (the CLI):
    read-only (no migration, no writes) or migrated at `now_wall_ns`. Closed, threads and index, on exit."""
    index = Index.open_readonly(config.storage.index_path) if readonly else Index.open(config.storage.index_path,
                                                                                       now_wall_ns)
    env = ServiceEnv(LiveConfig(config), index)
    try:
        yield env
    finally:
        env.close()
        index.close()
