"""A test-owned $NOTIFY_SOCKET: what systemd would receive from a Type=notify service."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Notification:
    at_s: float  # time.monotonic() when received
    fields: dict[str, str]


class NotifySocket:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.5)
        self.messages: list[Notification] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self._lock:
                self.messages.append(Notification(time.monotonic(), fields))

    def having(self, key: str, since_s: float = 0.0) -> list[Notification]:
        with self._lock:
            return [m for m in self.messages if key in m.fields and m.at_s >= since_s]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
