"""What every part of the hub works with: its configuration, its database, its keys, its clock."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vigil.store.index import Index

T = TypeVar("T")


@dataclass(frozen=True)
class HubConfig:
    """`vigil hub --config FILE`: the `[hub]` table (hub/config.py reads it; design/district.md)."""

    hub_id: str  # names the hub in its tokens (`hub` claim) and to the sites
    name: str
    data_dir: Path  # hub.sqlite3, keys/, broker/, archive/
    public_url: str  # how browsers and sites reach the hub's HTTPS, e.g. https://hub.district.example:9443
    listen_host: str = "0.0.0.0"  # noqa: S104 - the hub serves the district's network
    port: int = 9443
    broker_host: str = "localhost"  # the district broker as sites reach it (their bridges dial it)
    broker_port: int = 8883  # its TLS listener (site certificates)
    broker_listen_host: str | None = None  # the address that listener binds; None: every interface
    broker_client_host: str = "127.0.0.1"  # how the hub itself reaches the broker
    broker_client_port: int = 8883
    broker_pid_file: Path | None = None  # mosquitto's pid file: SIGHUP after the ACL changes
    token_lifetime_s: float = 300.0
    session_hours: float = 12.0
    enrol_code_hours: float = 72.0
    silent_after_s: float = 90.0  # core.district.site_state
    archive_dir: Path | None = None  # exports pulled from sites; default data_dir/archive

    @property
    def db_path(self) -> Path:
        return self.data_dir / "hub.sqlite3"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def archive(self) -> Path:
        return self.archive_dir or self.data_dir / "archive"


@dataclass(frozen=True)
class HubKeys:
    """Made on the hub's first start (hub/keys.py), owner-only under keys/."""

    token_key: Ed25519PrivateKey  # signs hub tokens
    ca_cert: Path  # the district CA: site certificates, the broker's, the hub's own
    ca_key: Path
    https_cert: Path  # the hub's HTTPS (CN/SAN from public_url's host)
    https_key: Path
    broker_cert: Path  # the district broker's TLS listener (SAN: broker_host, localhost, 127.0.0.1)
    broker_key: Path
    client_cert: Path  # the hub's own MQTT client (CN = hub)
    client_key: Path


HUB_MQTT_USER = "hub"  # the CN of the hub's MQTT client certificate; core.district.broker_acl


@dataclass
class HubEnv:
    config: HubConfig
    db: Index
    keys: HubKeys
    clock_ns: Callable[[], int] = time.time_ns
    # told each stored site message (as its JSON for the event list) on the loop: the page's stream
    message_listeners: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(4, thread_name_prefix="hub-db"))

    async def run(self, fn: Callable[[], T]) -> T:
        """fn() on a database thread (SQLite blocks), with the caller's context variables."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._pool, context.run, fn)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
