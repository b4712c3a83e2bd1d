"""Issue 12 #1: a connection flood against the real daemon must not stop recording. The daemon runs
with a low descriptor limit (soft = hard, so raising soft to hard gains nothing) and records a
simulated camera while the test holds slow-header TLS connections and floods the API port with
idle TCP connections; recording goes on, the disk is never reported missing, a client from
another address (and any client once the flood stops) is served, and the log stays short."""

from __future__ import annotations

import contextlib
import http.client
import resource
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.camsim import CameraServerFactory
from tests.support.http_call import free_port
from tests.support.vigil_proc import VigilProcess, run_vigil, segments_of, vigil_stdin, wait_for, write_config

NOFILE = 256  # the daemon's whole descriptor limit (it holds ~15 recording one camera)
HEADER_TIMEOUT_S = 3
FLOOD_ROUNDS, FLOOD_PER_ROUND = 3, 250  # 750 connections: about three times the limit


def _health(port: int, ca: Path, token: str, source: str) -> int:
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context, source_address=(source, 0))
    try:
        conn.request("GET", "/api/health", headers={"Authorization": f"Bearer {token}"})
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


def _keepalive_after_one_request(port: int, ca: Path, token: str) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    tls = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
    tls.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token.encode()
                + b"\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += tls.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += tls.recv(65536)
    return tls


def _slow_header(port: int) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    tls = context.wrap_socket(raw)
    tls.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    tls.setblocking(False)
    return tls


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True


@contextmanager
def _flood(port: int) -> Iterator[list[socket.socket]]:
    """Idle TCP connections to the API port (connects not waited for: no handshake, no request)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    held: list[socket.socket] = []
    try:
        yield held
    finally:
        for sock in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _open_round(port: int, held: list[socket.socket]) -> None:
    for _ in range(FLOOD_PER_ROUND):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        held.append(sock)


@pytest.mark.slow
def test_connection_flood_does_not_stop_recording(tmp_path: Path, camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=a,width=320,height=240,fps=15,gop=15,bitrate=300")
    port = free_port()
    config = write_config(tmp_path, {"cam-a": cams.url("a")}, "segment_duration_s = 2")
    config.write_text(config.read_text() + f'[http]\nlisten = "127.0.0.1:{port}"\n'
                      f"header_timeout_s = {HEADER_TIMEOUT_S}\ntls_handshake_timeout_s = 3\nidle_timeout_s = 3\n"
                      "[webrtc]\nmax_viewers = 2\n")
    assert vigil_stdin("flood test admin password\n", "user", "add", "admin", "--role", "district_admin",
                       "--password-stdin", "--config", str(config)).returncode == 0
    token = run_vigil("token", "create", "admin", "--config", str(config)).stdout.strip()
    vigil = VigilProcess(config, nofile=NOFILE)
    try:
        ca = tmp_path / "data" / "tls" / "cert.pem"
        wait_for(ca.exists, 30, "the certificate")
        wait_for(lambda: _health(port, ca, token, "127.0.0.1") == 200, 30, "the API")
        wait_for(lambda: len(segments_of(config, "cam-a")) >= 1, 30, "a first segment")

        # Slow-header clients: handshake done, the request head never finished.
        slow = [_slow_header(port) for _ in range(4)]
        started = time.monotonic()
        deadline = started + HEADER_TIMEOUT_S + 10
        while time.monotonic() < deadline and not all(_closed_by_peer(s) for s in slow):
            for s in slow:
                with contextlib.suppress(OSError):  # SSLWantWriteError too
                    s.send(b"X-Slow: 1\r\n")  # a header line now and then must not keep it open
            time.sleep(0.5)
        assert all(_closed_by_peer(s) for s in slow), "slow-header connections were not closed"
        for s in slow:
            s.close()
        # A first request head larger than any browser's (40 KB of header lines, no end) is cut off.
        big = _slow_header(port)
        big.setblocking(True)
        with contextlib.suppress(OSError):
            for _ in range(40):
                big.sendall(b"X-Pad: " + b"a" * 1000 + b"\r\n")
        big.settimeout(HEADER_TIMEOUT_S + 10)
        with contextlib.suppress(ConnectionResetError, ssl.SSLError):
            assert big.recv(1) == b""
        assert "sent a request head over 32768 bytes" in vigil.log  # for its size, not its slowness
        big.close()

        # A kept-alive connection that goes quiet after a request is closed after idle_timeout_s.
        keep = _keepalive_after_one_request(port, ca, token)
        keep.settimeout(3 + 15)
        with contextlib.suppress(ConnectionResetError, ssl.SSLError):
            assert keep.recv(1) == b""
        keep.close()

        # The flood: three rounds of idle connections, held for about 16 s in all.
        log_lines_before = len(vigil.log.splitlines())
        segments_before = len(segments_of(config, "cam-a"))
        with _flood(port) as held:
            for _ in range(FLOOD_ROUNDS):
                _open_round(port, held)
                time.sleep(4)
                assert vigil.open_fds() < NOFILE - 64, vigil.open_fds()  # room left for recording
            # Another address is still served while the flood is held (per-address cap)...
            assert _health(port, ca, token, "127.0.0.2") == 200, vigil.log[-3000:]
            time.sleep(4)  # the storage watcher checks every 10 s: it has checked during the flood
            assert vigil.proc.poll() is None, vigil.log[-3000:]
        # ... and everyone once it stops.
        wait_for(lambda: _health(port, ca, token, "127.0.0.1") == 200, 20, "the API after the flood")
        segments_after = len(segments_of(config, "cam-a"))
        assert segments_after >= segments_before + 4, (segments_before, segments_after)  # ~8 s of 2 s segments
        log = vigil.log
        assert "RECORDING DISK MISSING" not in log and "out of system resource" not in log, log[-3000:]
        flood_log = log.splitlines()[log_lines_before:]
        assert len(flood_log) < 120, "\n".join(flood_log[:200])
        refusals = [line for line in flood_log if "http: refused" in line]
        assert 2 <= len(refusals) <= 4, "\n".join(flood_log)  # the first of each 10 s, then one count
        assert any(" more connections in the last 10 s" in line for line in refusals), refusals
        assert vigil.terminate() == 0, log[-3000:]
    finally:
        vigil.close()
