"""Child processes of the demos (`vigil demo` in a district, `vigil hub demo`): a Debian `mosquitto`
on loopback started with a small conf that includes a directory of generated conf files (the hub's
`vigil hub broker-config` output, or a site's bridge conf written by its enrolment), free loopback
ports, and stopping a child and whatever it started."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path

from vigil.core.errors import VigilError

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port free on loopback now (the caller binds it soon after; another process could take
    it in between, which on a demo machine is a risk worth taking)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


def wait_listening(port: int, proc: subprocess.Popen[bytes] | None, what: str, timeout_s: float = 30.0) -> None:
    """Until something accepts on 127.0.0.1:port; VigilError if `proc` exits first or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise VigilError(f"{what} exited with status {proc.returncode} before listening on port {port}")
        try:
            socket.create_connection((LOOPBACK, port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise VigilError(f"{what} did not listen on {LOOPBACK}:{port} within {timeout_s:g} s")


def broker_conf(directory: Path, include_dir: Path, listener_port: int | None) -> Path:
    """`directory`/mosquitto.conf: its log in `directory` and every `*.conf` of `include_dir`
    included. For an appliance (`listener_port`), also the plain loopback listener its daemon
    publishes to, persistence, a pid file, and this user (run as root, mosquitto would switch to
    'mosquitto', which cannot read the keys the demo made); the hub's generated conf already says
    its user, pid file, listener and persistence (mosquitto refuses a setting given twice)."""
    directory.mkdir(parents=True, exist_ok=True)
    include_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by the vigil demo.", f"log_dest file {directory / 'mosquitto.log'}",
             "log_type error", "log_type warning", "log_type notice"]
    if listener_port is not None:
        lines += [f"user {pwd.getpwuid(os.getuid()).pw_name}", f"pid_file {directory / 'mosquitto.pid'}",
                  f"listener {listener_port} {LOOPBACK}", "allow_anonymous true", "persistence true",
                  f"persistence_location {directory}/", "autosave_interval 5"]
    lines += [f"include_dir {include_dir}", ""]
    conf = directory / "mosquitto.conf"
    conf.write_text("\n".join(lines), encoding="utf-8")
    return conf


def start_broker(conf: Path, port: int, what: str) -> subprocess.Popen[bytes]:
    """mosquitto -c conf, once it listens on `port`."""
    try:
        proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        raise VigilError("mosquitto is not installed (apt-get install mosquitto)") from None
    try:
        wait_listening(port, proc, what)
    except BaseException:
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout_s: float = 20.0) -> None:
    """SIGTERM (and SIGCONT, in case someone stopped it to cut a link), then SIGKILL after `timeout_s`."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
        os.kill(proc.pid, signal.SIGCONT)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def stop_group(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout_s: float = 30.0) -> None:
    """A child started in its own session (`start_new_session=True`): SIGTERM to it so that it stops
    what it started itself, then SIGKILL to its whole process group for anything left behind."""
    stop(proc, timeout_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGCONT)
        os.killpg(proc.pid, signal.SIGKILL)
