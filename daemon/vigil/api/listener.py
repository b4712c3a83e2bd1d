"""The API's listening socket, with the connection caps and timeouts of core.conn_limits.

asyncio's own server (loop.create_server, behind aiohttp's TCPSite) accepts every connection it
can and, once the process is out of descriptors, logs "socket.accept() out of system resource"
on every attempt. Here the accept loop is ours: each accepted socket is counted (in total and per
client address) before its TLS handshake, refused at once over a cap, given a handshake timeout
and then a deadline for its first request head. Errors of accept() itself (EMFILE, ENFILE,
ENOBUFS, ...) pause accepting with a backoff instead of spinning; the log's rate limit
(vigil.logs) keeps what they say to a few lines."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from typing import Any

from aiohttp import web

from vigil.core.backoff import BackoffPolicy
from vigil.core.conn_limits import (
    Admission,
    ConnectionLimits,
    ConnectionTable,
    Head,
    HeadProgress,
    client_key,
    head_progress,
)

log = logging.getLogger(__name__)

# accept() failing for want of descriptors or memory: wait 50 ms, doubling up to 1 s, then retry.
ACCEPT_BACKOFF = BackoffPolicy(first_delay_s=0.05, max_delay_s=1.0)
REFUSED_SUMMARY_S = 10.0  # refusals after the first are logged as one count per this period
_TRANSIENT_ACCEPT = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EAGAIN, errno.EINTR}


def handler_args(limits: ConnectionLimits) -> dict[str, Any]:
    """aiohttp RequestHandler options that apply the limits it knows itself (web.AppRunner kwargs)."""
    return {"keepalive_timeout": limits.idle_timeout_s, "max_line_size": limits.max_header_line_bytes,
            "max_field_size": limits.max_header_line_bytes, "max_headers": limits.max_header_count}


class _Guarded(asyncio.Protocol):
    """aiohttp's request handler behind a deadline for the first request head; releases the
    connection's slot in the table when the connection ends."""

    def __init__(self, inner: asyncio.Protocol, listener: ApiListener, key: str) -> None:
        self.inner, self.listener, self.key = inner, listener, key
        self._head = HeadProgress()
        self._head_seen = False
        self._deadline: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None
        self.released = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.listener.limits.header_timeout_s, self._too_slow)
        self.inner.connection_made(transport)

    def _too_slow(self) -> None:
        self._deadline = None
        if not self._head_seen:
            self._close(f"sent no request head within {self.listener.limits.header_timeout_s:.0f} s")

    def _close(self, why: str) -> None:
        if self._transport is not None:
            self.listener.closed_early += 1
            log.info("http: closed a connection from %s that %s", self.key, why)
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        if not self._head_seen:
            head, self._head = head_progress(self._head, data, self.listener.limits.max_head_bytes)
            if head is Head.TOO_LARGE:
                self._close(f"sent a request head over {self.listener.limits.max_head_bytes} bytes")
                return
            self._head_seen = head is Head.COMPLETE
            if self._head_seen and self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._transport = None
        self.listener.release(self)
        self.inner.connection_lost(exc)


class ApiListener:
    """Accepts API connections for an aiohttp runner (set up with handler_args(limits))."""

    def __init__(self, runner: web.BaseRunner, limits: ConnectionLimits, max_connections: int,
                 ssl_context: ssl.SSLContext | None) -> None:
        self.runner, self.limits, self.ssl_context = runner, limits, ssl_context
        self.table = ConnectionTable(max_connections, limits.max_per_address)
        self.refused = 0
        self.closed_early = 0  # slow or oversized first request heads
        self._sock: socket.socket | None = None
        self._refused_since_summary: int | None = None  # None: no refusal in the current window

    @property
    def port(self) -> int:
        return 0 if self._sock is None else int(self._sock.getsockname()[1])

    def bind(self, host: str, port: int) -> None:
        """Listen (raises OSError when the address cannot be had)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind((host, port))
            sock.listen(128)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock

    def close(self) -> None:
        """Close the listening socket (idempotent; `serve` closes it too, if it ran)."""
        if self._sock is not None:
            self._sock.close()

    async def serve(self) -> None:
        """Accept until cancelled; connections still in their handshake are closed on the way out."""
        assert self._sock is not None, "bind() first"
        loop = asyncio.get_running_loop()
        attempt = 0
        try:
            async with asyncio.TaskGroup() as tg:
                while True:
                    try:
                        conn, address = await loop.sock_accept(self._sock)
                    except OSError as error:
                        if error.errno in _TRANSIENT_ACCEPT:
                            continue
                        delay = ACCEPT_BACKOFF.delay_s(attempt, 1.0)
                        attempt += 1
                        log.warning("http: cannot accept connections (%s); retrying in %.2f s",
                                    error.strerror or error, delay)
                        await asyncio.sleep(delay)
                        continue
                    attempt = 0
                    key = client_key(str(address[0]))
                    admission = self.table.admit(key)
                    if admission is not Admission.ADMIT:
                        conn.close()
                        self._refused(key, admission)
                        continue
                    tg.create_task(self._connect(conn, key))
        finally:
            self._sock.close()

    async def _connect(self, conn: socket.socket, key: str) -> None:
        server = self.runner.server
        guarded: _Guarded | None = None

        def protocol() -> asyncio.Protocol:
            nonlocal guarded
            assert server is not None
            guarded = _Guarded(server(), self, key)
            return guarded

        try:
            conn.setblocking(False)
            if server is None:  # the runner is shutting down
                raise ConnectionAbortedError
            await asyncio.get_running_loop().connect_accepted_socket(
                protocol, conn, ssl=self.ssl_context,
                ssl_handshake_timeout=self.limits.tls_handshake_timeout_s if self.ssl_context else None)
        except Exception as error:  # a failed handshake ends that connection only
            log.debug("http: connection from %s ended before its handshake completed: %r", key, error)
            conn.close()
            if guarded is None:
                self.table.release(key)
            else:
                self.release(guarded)

    def _refused(self, key: str, admission: Admission) -> None:
        """The first refusal is logged; the rest of the next REFUSED_SUMMARY_S as one count."""
        self.refused += 1
        if self._refused_since_summary is not None:
            self._refused_since_summary += 1
            return
        self._refused_since_summary = 0
        log.warning("http: refused a connection from %s: %s (%d open, %d from that address)", key,
                    "too many connections" if admission is Admission.FULL
                    else "too many connections from that address", self.table.open, self.table.held_by(key))
        asyncio.get_running_loop().call_later(REFUSED_SUMMARY_S, self._summarize_refused)

    def _summarize_refused(self) -> None:
        more, self._refused_since_summary = self._refused_since_summary, None
        if more:
            log.warning("http: refused %d more connections in the last %.0f s (%d open)", more,
                        REFUSED_SUMMARY_S, self.table.open)

    def release(self, guarded: _Guarded) -> None:
        """Each connection's slot once, whether its handshake failed or the connection ended."""
        if not guarded.released:
            guarded.released = True
            self.table.release(guarded.key)
