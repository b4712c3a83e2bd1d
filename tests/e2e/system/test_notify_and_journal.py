"""The sd_notify client and the journald helpers against real sockets; the supervisor's decision
loop with a clock the test controls."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from pathlib import Path

import pytest

from vigil.system.journal import JournalHandler, camera_of, journal_priority, stderr_is_journal
from vigil.system.sd_notify import Notifier
from vigil.system.supervision import Supervisor, recorder_beats


def _receiver(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


def test_notifier_sends_datagrams_to_a_path_and_an_abstract_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    sock = _receiver(path)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000"})
    assert notifier.watchdog_usec == 4_000_000
    assert notifier.ready("cameras: 1/1 up")
    assert sock.recv(4096) == b"READY=1\nSTATUS=cameras: 1/1 up"
    assert notifier.watchdog() and sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping() and sock.recv(4096).startswith(b"STOPPING=1\nSTATUS=")
    notifier.close()
    name = f"vigil-test-{os.getpid()}"
    abstract = _receiver("\0" + name)
    assert Notifier({"NOTIFY_SOCKET": "@" + name}).status("hello")
    assert abstract.recv(4096) == b"STATUS=hello"


def test_notifier_without_systemd_is_a_no_op() -> None:
    notifier = Notifier({})
    assert not notifier.enabled and not notifier.ready("x") and notifier.watchdog_usec is None
    # A watchdog meant for another process (WATCHDOG_PID) is not ours to ping.
    assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}).watchdog_usec is None


class _Rec:
    def __init__(self, name: str, beat_s: float, finished: bool = False) -> None:
        self.name = name
        self.heartbeat_monotonic = beat_s
        self.finished = threading.Event()
        if finished:
            self.finished.set()


def test_supervisor_pings_only_while_healthy_and_logs_the_stall_once(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = str(tmp_path / "notify")
    sock = _receiver(path)
    now = [100.0]
    supervisor = Supervisor(Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "10000000"}), lambda: now[0])
    recs = [_Rec("a/main", 100.0), _Rec("b/main", 100.0), _Rec("old/main", 0.0, finished=True)]
    supervisor.watch(lambda: recorder_beats(recs), lambda: "status")
    supervisor._loop_beat_s = 100.0
    assert supervisor.tick(101.0) and sock.recv(100) == b"WATCHDOG=1"  # the finished recorder is ignored
    now[0] = 107.0
    supervisor._loop_beat_s = 107.0
    recs[0].heartbeat_monotonic = 107.0  # b/main stopped at 100
    caplog.set_level(logging.INFO, "vigil.system.supervision")
    caplog.clear()
    assert not supervisor.tick(107.0)
    assert not supervisor.tick(112.0)
    for rec in recs[:2]:
        rec.heartbeat_monotonic = 112.0
    supervisor._loop_beat_s = 112.0
    assert supervisor.tick(112.5)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == ("watchdog: no progress from recorder b/main (7 s); no longer pinging systemd,"
                           " which will restart vigil")
    assert len(messages) == 2 and "healthy again" in messages[1]
    assert supervisor.pings == 2


def test_journal_stream_must_be_stderr_itself(tmp_path: Path) -> None:
    st = os.fstat(sys.stderr.fileno())
    assert stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, sys.stderr.fileno())
    assert not stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"}, sys.stderr.fileno())
    assert not stderr_is_journal({}, sys.stderr.fileno())
    assert not stderr_is_journal({"JOURNAL_STREAM": "garbage"}, sys.stderr.fileno())


def test_journal_entries_carry_priority_camera_and_redacted_text() -> None:
    from vigil.logs import RedactingFilter

    sent: list[tuple[str, dict[str, object]]] = []
    handler = JournalHandler(lambda message, **fields: sent.append((message, fields)))
    handler.addFilter(RedactingFilter(["hunter2-secret"]))
    log = logging.getLogger("vigil.test.journal")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.DEBUG)
    try:
        done = threading.Event()

        def in_camera_thread() -> None:
            log.warning("cannot reach rtsp://admin:pw@10.0.0.5/s with hunter2-secret")
            done.set()

        threading.Thread(target=in_camera_thread, name="rtsp-hs-east-sub").start()
        assert done.wait(5)
        log.info("not a camera", extra={"camera": "hs-gym"})
    finally:
        log.removeHandler(handler)
    (first, fields), (_, second) = sent
    assert first == "cannot reach rtsp://***@10.0.0.5/s with ***"
    assert fields["PRIORITY"] == "4" and fields["CAMERA"] == "hs-east" and fields["SYSLOG_IDENTIFIER"] == "vigil"
    assert second["PRIORITY"] == "6" and second["CAMERA"] == "hs-gym"
    assert [journal_priority(x) for x in (10, 20, 30, 40, 50)] == [7, 6, 4, 3, 2]
    record = logging.LogRecord("x", 20, "f", 1, "m", None, None)
    record.threadName = "MainThread"
    assert camera_of(record) is None
    for thread, camera in (("transcode-hs-door", "hs-door"), ("transcode-hs-door-sub", "hs-door")):
        record.threadName = thread  # a live re-encode (webrtc/transcode.py)
        assert camera_of(record) == camera


def test_a_daemon_that_cannot_start_says_why_in_its_status(tmp_path: Path) -> None:
    """The recording disk missing at boot: no READY, and STATUS names the reason."""
    import subprocess

    from tests.support.vigil_proc import DAEMON_DIR, write_config

    config = write_config(tmp_path, {}, "require_mount = true")
    path = str(tmp_path / "notify")
    sock = _receiver(path)
    env = dict(os.environ, NOTIFY_SOCKET=path, PYTHONPATH=str(DAEMON_DIR))
    done = subprocess.run([sys.executable, "-m", "vigil", "run", "--config", str(config)], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert done.returncode == 2 and "not a mount point" in done.stderr
    status = sock.recv(4096).decode()
    assert status.startswith("STATUS=not running: ") and "not a mount point" in status, status
