"""A real Debian `mosquitto` broker on loopback for MQTT tests, and the `mosquitto_pub`/`mosquitto_sub`
clients as the other side."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import threading
import time
from pathlib import Path

from tests.support.http_call import free_port


class Broker:
    """mosquitto with persistence (autosaved every second, so a killed broker keeps its sessions)."""

    def __init__(self, tmp: Path, port: int | None = None, passwords: dict[str, str] | None = None,
                 tls: tuple[Path, Path] | None = None, extra: tuple[str, ...] = ()) -> None:
        self.dir = tmp / "mosquitto"
        self.dir.mkdir(exist_ok=True)
        self.port = port or free_port()
        lines = [f"listener {self.port} 127.0.0.1", "persistence true", f"persistence_location {self.dir}/",
                 "autosave_interval 1",
                 f"user {pwd.getpwuid(os.getuid()).pw_name}",  # as root, mosquitto would switch to 'mosquitto'
                 "log_dest stderr", "log_type error", "log_type warning"]
        lines += extra
        self.tls_port: int | None = None
        if tls is not None:  # a second listener with TLS (certificate, key); the first stays plain
            self.tls_port = free_port()
            lines += [f"listener {self.tls_port} 127.0.0.1", f"certfile {tls[0]}", f"keyfile {tls[1]}"]
        if passwords:
            password_file = self.dir / "passwords"
            password_file.write_text("")
            for user, password in passwords.items():
                subprocess.run(["mosquitto_passwd", "-b", str(password_file), user, password], check=True)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines += ["allow_anonymous true"]
        self.config = self.dir / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.dir / "mosquitto.log"

    def start(self) -> Broker:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(["mosquitto", "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("mosquitto did not start listening")

    def kill(self) -> None:
        """SIGKILL: the broker vanishes without saying goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def pub(self, topic: str, payload: str | bytes, *, retain: bool = False, client_id: str | None = None,
            user: tuple[str, str] | None = None) -> None:
        args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", "1", "-t", topic, "-s"]
        args += ["-r"] if retain else []
        args += ["-i", client_id] if client_id else []
        args += ["-u", user[0], "-P", user[1]] if user else []
        data = payload.encode() if isinstance(payload, str) else payload
        subprocess.run(args, input=data, check=True, timeout=20, capture_output=True)

    def subscriber(self, topic: str, *, user: tuple[str, str] | None = None, session: str | None = None
                   ) -> Subscriber:
        """`session`: a client id for a persistent session (-c), which survives a broker restart."""
        return Subscriber(self, topic, user, session)


class Subscriber:
    """mosquitto_sub (QoS 1, -v) on `topic` plus a private probe topic, collecting lines in a thread;
    `ready()` returns once the subscription is in place (a probe came back)."""

    def __init__(self, broker: Broker, topic: str, user: tuple[str, str] | None, session: str | None = None) -> None:
        self.broker = broker
        self.user = user
        self.probe = f"test-probe/{id(self)}"
        args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-v", "-t", topic,
                "-t", self.probe, "-W", "300"]
        args += ["-u", user[0], "-P", user[1]] if user else []
        args += ["-c", "-i", session] if session else []
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines: list[tuple[str, str]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            topic, _, payload = line.rstrip("\n").partition(" ")
            self.lines.append((topic, payload))

    def ready(self, timeout_s: float = 20) -> Subscriber:
        deadline = time.monotonic() + timeout_s
        while not any(t == self.probe for t, _ in self.lines):
            if time.monotonic() > deadline:
                raise AssertionError("mosquitto_sub did not subscribe in time")
            self.broker.pub(self.probe, "probe", user=self.user)
            time.sleep(0.2)
        return self

    def received(self, topic: str) -> list[str]:
        return [p for t, p in list(self.lines) if t == topic]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self._thread.join(5)
