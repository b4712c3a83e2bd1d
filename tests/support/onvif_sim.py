"""The simulated ONVIF camera (vigil.sim.onvif_device) and its WS-Discovery responder for
synchronous tests (the browser tests): served from an asyncio loop in a thread; and the
WS-Discovery multicast group routed over `lo`, which a namespace holding only loopback lacks."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from vigil.sim.onvif_device import OnvifDevice, start_device
from vigil.sim.wsd_responder import Announced, start_responder

T = TypeVar("T")


class _Loop:
    """An asyncio loop running in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sim-loop", daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@contextmanager
def onvif_camera(device: OnvifDevice, announce_port: int | None = None) -> Iterator[int]:
    """`device` served on 127.0.0.1, answering WS-Discovery Probes on `announce_port` when given;
    yields its port."""
    loop = _Loop()
    try:
        runner, port = loop.run(start_device(device))
        responder: asyncio.DatagramTransport | None = None
        try:
            if announce_port is not None:
                announced = Announced(f"http://127.0.0.1:{port}/onvif/device_service", device.scopes)
                responder, _ = loop.run(start_responder([announced], port=announce_port))
            yield port
        finally:
            if responder is not None:
                loop.loop.call_soon_threadsafe(responder.close)
            loop.run(runner.cleanup())
    finally:
        loop.close()


@contextmanager
def multicast_route(group: str) -> Iterator[None]:
    """`group` routed over `lo` (multicast on) while in the block, unless a route exists already.
    Needs root in the test's network namespace."""
    if subprocess.run(["ip", "route", "get", group], capture_output=True, check=False).returncode == 0:
        yield
        return
    subprocess.run(["ip", "link", "set", "lo", "multicast", "on"], check=True)
    subprocess.run(["ip", "route", "add", f"{group}/32", "dev", "lo"], check=True)
    try:
        yield
    finally:
        subprocess.run(["ip", "route", "del", f"{group}/32", "dev", "lo"], check=False)
