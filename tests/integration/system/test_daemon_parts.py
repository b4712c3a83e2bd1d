"""The daemon's parts start in order and stop in the reverse order, whether the daemon is asked to
stop, a part fails at start (every part, one at a time), or a part fails while running; nothing
is left behind: no task, no thread, no open descriptor (the index, the listening socket, ...).

The real daemon (vigil.app.Daemon) runs in this process against a simulated RTSP camera, with
systemd's notify socket, hot-plug watching and an MQTT door adapter configured, so that every
part has something to start. A part is made to fail by wrapping it: the real part starts, then
its start raises, so its own stop must run as well as the others'."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.camsim import CameraServerFactory
from tests.support.notify_socket import NotifySocket
from vigil import app
from vigil.config import Config, load_config
from vigil.core.errors import VigilError
from vigil.record.retention_worker import RetentionWorker
from vigil.system import parts as parts_module

# (part name in the log, the factory in vigil.app that starts it), in start order
PARTS = [("supervision", "supervision"), ("stop signals", "stop_signals"), ("storage", "open_storage"),
         ("service env", "database_threads"), ("retention", "retention_worker"), ("exports", "export_jobs"),
         ("incident reports", "incident_reports"), ("credential watch", "credential_watch"),
         ("live sessions", "live_sessions"), ("talk sessions", "talk_sessions"),
         ("door events", "door_events"), ("door adapters", "door_adapters"),
         ("incident deliveries", "incident_deliveries"), ("incident alerts", "incident_alerts"),
         ("district publisher", "district_publisher"),
         ("http api", "http_api"),
         ("hotplug", "hotplug"), ("recording", "recording"), ("reload", "reloading")]
NAMES = [name for name, _ in PARTS]
CAM = "name=a,width=320,height=240,fps=15,gop=15,bitrate=300"


class PartFailedError(Exception):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def config(tmp_path: Path, camera_server: CameraServerFactory, monkeypatch: pytest.MonkeyPatch) -> Config:
    cams = camera_server(CAM)
    notify = NotifySocket(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    text = f"""
[storage]
path = "{tmp_path / 'data'}"
min_free_bytes = 0
[http]
listen = "127.0.0.1:{_free_port()}"
tls = false
[appliance]
hotplug = true
[door_adapters.mqtt]
host = "127.0.0.1"
port = {_free_port()}
[[buildings]]
id = "hs"
name = "High School"
[[cameras]]
id = "cam-a"
building = "hs"
url = "{cams.url('a')}"
timeout_s = 3
motion = "keyframes"
"""
    path = tmp_path / "vigil.toml"
    path.write_text(text)
    return load_config(path)


def _fds() -> dict[int, str]:
    found = {}
    for entry in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            found[int(entry.name)] = str(entry.readlink())
    return found


def _sockets(fds: dict[int, str]) -> dict[int, str]:
    """What each socket among `fds` is (from /proc/net), for a readable failure."""
    tables = {}
    for table in ("tcp", "tcp6", "udp", "udp6", "unix", "netlink"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            inode = fields[6] if table == "unix" else fields[9]
            tables[inode] = f"{table} {' '.join(fields[1:4] if table != 'unix' else fields[4:])}"
    return {fd: tables.get(target.removeprefix("socket:[").rstrip("]"), target) for fd, target in fds.items()}


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def _settle(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


class Run:
    """One run of the daemon in a loop of its own; what it left behind."""

    def __init__(self, config: Config, caplog: pytest.LogCaptureFixture) -> None:
        self.config, self.caplog = config, caplog
        self.error: BaseException | None = None
        self.tasks_left: set[asyncio.Task[Any]] = set()
        self.ready = False
        self.used: asyncio.Task[None] | None = None

    def go(self, stop_when_ready: bool = True) -> None:
        fds, threads = _fds(), _threads()
        daemon = app.Daemon(self.config)

        clients: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

        async def use_then_stop() -> None:
            """A database thread and an idle keep-alive API connection exist when the stop comes."""
            assert daemon.running is not None
            await daemon.running.services.env.run(lambda: None)
            reader, writer = await asyncio.open_connection(self.config.http.host, self.config.http.port)
            clients.append((reader, writer))
            writer.write(b"GET /api/health HTTP/1.1\r\nHost: vigil\r\n\r\n")
            assert (await reader.readline()).startswith(b"HTTP/1.1 401")
            if stop_when_ready:
                await asyncio.sleep(0.5)
                daemon.stopping.set()

        def on_ready() -> None:
            self.ready = True
            self.used = asyncio.get_running_loop().create_task(use_then_stop())

        async def main() -> None:
            try:
                await daemon.run(on_ready)
            except Exception as error:  # what the test expects, checked by it
                self.error = error
            if self.used is not None:
                await self.used
            self.tasks_left = asyncio.all_tasks() - {asyncio.current_task()}
            for reader, writer in clients:
                await asyncio.wait_for(reader.read(), 5.0)  # to the end: the daemon closed the connection
                writer.close()

        with self.caplog.at_level(logging.DEBUG, logger=parts_module.__name__):
            asyncio.run(main())
        _settle(lambda: _threads() <= threads and set(_fds()) <= set(fds))
        self.threads_left = _threads() - threads
        self.fds_left = {fd: target for fd, target in _fds().items() if fds.get(fd) != target}

    def said(self, what: str) -> list[str]:
        """Parts that logged `what` (started, stopped), in order."""
        return [str(r.args[0]) for r in self.caplog.records
                if r.name == parts_module.__name__ and r.msg == f"part %s: {what}" and isinstance(r.args, tuple)]

    def assert_nothing_left(self) -> None:
        assert not self.tasks_left, self.tasks_left
        assert not self.threads_left, self.threads_left
        assert not self.fds_left, _sockets(self.fds_left)  # the index, the listening socket, camera and MQTT sockets
        with socket.socket() as s:  # nothing listens on the API's port
            assert s.connect_ex((self.config.http.host, self.config.http.port)) != 0


def _failing_after_start(real: Callable[..., Any], name: str) -> Callable[..., Any]:
    @contextlib.asynccontextmanager
    async def part(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with real(*args, **kwargs):
            raise PartFailedError(name)  # the part is up: now its start fails
        yield  # never reached (makes this a generator)

    return part


def test_a_stop_stops_every_part_in_reverse_order(config: Config, caplog: pytest.LogCaptureFixture) -> None:
    run = Run(config, caplog)
    run.go()
    assert run.ready and run.error is None
    assert run.said("started") == NAMES
    assert run.said("stopped") == NAMES[::-1]
    run.assert_nothing_left()


@pytest.mark.parametrize(("name", "factory"), PARTS, ids=NAMES)
def test_a_part_failing_at_start_stops_the_started_ones_in_reverse_order(
        config: Config, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        name: str, factory: str) -> None:
    monkeypatch.setattr(app, factory, _failing_after_start(getattr(app, factory), name))
    run = Run(config, caplog)
    run.go()
    assert not run.ready
    assert isinstance(run.error, PartFailedError) and str(run.error) == name
    before = NAMES[:NAMES.index(name)]
    assert run.said("starting")[-1] == name
    assert run.said("started") == before
    assert run.said("stopped") == before[::-1]
    run.assert_nothing_left()


def test_a_part_failing_while_running_stops_every_part(config: Config, caplog: pytest.LogCaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken_round(self: Any) -> None:
        await asyncio.sleep(0.5)
        raise PartFailedError("retention")

    monkeypatch.setattr(RetentionWorker, "run", broken_round)
    run = Run(config, caplog)
    run.go(stop_when_ready=False)
    assert run.ready and isinstance(run.error, PartFailedError)
    assert run.said("started") == NAMES
    assert run.said("stopped") == NAMES[::-1]
    run.assert_nothing_left()


def test_port_in_use(config: Config, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind((config.http.host, config.http.port))
        taken.listen()
        run = Run(config, caplog)
        run.go()
        assert isinstance(run.error, VigilError) and "cannot listen" in str(run.error)
        before = NAMES[:NAMES.index("http api")]
        assert run.said("started") == before and run.said("stopped") == before[::-1]
        assert not run.tasks_left and not run.threads_left and not run.fds_left


def test_door_key_directory_is_a_file(config: Config, caplog: pytest.LogCaptureFixture) -> None:
    (config.storage.path).mkdir(parents=True)
    (config.storage.path / "doors").write_text("not a directory")
    run = Run(config, caplog)
    run.go()
    assert isinstance(run.error, OSError)
    before = NAMES[:NAMES.index("door events")]
    assert run.said("started") == before and run.said("stopped") == before[::-1]
    run.assert_nothing_left()
