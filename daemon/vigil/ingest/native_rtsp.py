"""The thin asyncio shell around the sans-IO RTSP client (core/rtsp_client.py): one camera session.

Rules (design/ingest.md):
- Connect with `timeout_s` (the camera's), then write whatever `RtspClient.data_to_send()` holds
  after every input; the client's keep-alive timer is run when `next_timer_s` is due.
- Read timeout: no byte from the camera (RTSP connection or, over UDP, a media datagram) for
  `timeout_s` ends the session with TIMEOUT. EOF from the camera is ENDED. OSErrors are named by
  core/failure.classify_failure (refused, unreachable, ...); `RtspClientError` carries its reason.
- Redirects (3xx with Location): the connection is closed and the new URL tried, at most
  MAX_REDIRECTS times per session; one more is BAD_STREAM.
- UDP: one RTP/RTCP socket pair (even/odd consecutive ports) per track that may be set up (video,
  and audio when wanted) is bound before SETUP; datagrams are taken only from the camera's address.
  TCP: RTP/RTCP arrive interleaved on the RTSP connection.
- RTCP receiver reports (core/rtp.ReceptionStats) every RR_INTERVAL_S per track, to the camera's
  RTCP port (UDP) or interleaved on the track's RTCP channel (TCP).
- Input: the RTSP connection is an asyncio.Protocol whose `data_received` feeds the client and
  delivers the media at once (no coroutine or timeout per read: that was most of the per-packet
  cost); the session's task is only a coarse watchdog (keep-alive, receiver reports, read timeout).
  The packets of one read share one arrival time.
- Delivery: each RTP packet is parsed and handed to the sink synchronously (`MediaSink.rtp`), no
  queue in between; unparsable datagrams and frames are counted (`bad_packets`) and dropped, never
  logged one by one. Interleaved frames and datagrams arriving before PLAY's answer is read (a
  camera starts sending with its answer) wait in bounded lists (PRE_PLAY_FRAMES each) and are
  delivered right after `MediaSink.playing`: the first keyframe is not lost.
- `stop` (an asyncio.Event) ends the session promptly, in any state (connecting, handshaking,
  playing): TEARDOWN is written when the client has a session (best effort, within
  TEARDOWN_WAIT_S), the session's task is cancelled, and the result is SHUTDOWN.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno as errno_codes
import random
import socket
import time
from dataclasses import dataclass
from functools import partial
from typing import Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from vigil.core.camera_modes import Transport
from vigil.core.failure import classify_failure
from vigil.core.media import DownReason
from vigil.core.rtp import ReceptionStats, RtpError, RtpPacket, SenderReport, parse_rtcp, parse_rtp
from vigil.core.rtsp_client import Interleaved, Playing, Redirected, RtspClient, RtspClientError, SetupTrack
from vigil.core.rtsp_messages import encode_interleaved

MAX_REDIRECTS = 3
RR_INTERVAL_S = 5.0
TEARDOWN_WAIT_S = 0.3
PRE_PLAY_FRAMES = 256
UDP_BIND_TRIES = 32
VIDEO, AUDIO = 0, 1  # track indexes, in SETUP order


class MediaSink(Protocol):
    """Where a session's media goes (ingest/native_ingest.py). Called on the loop's thread."""

    def playing(self, event: Playing) -> None: ...

    def rtp(self, track: int, packet: RtpPacket, arrival_wall_ns: int) -> None: ...

    def sender_report(self, track: int, report: SenderReport, arrival_wall_ns: int) -> None: ...


@dataclass(frozen=True)
class SessionParams:
    url: str  # may carry user:password@ (used when username is None)
    username: str | None
    password: str | None
    transport: Transport
    timeout_s: float
    want_audio: bool


class _EndedError(Exception):
    def __init__(self, reason: DownReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _RedirectError(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(url without user:password@, username, password) of an rtsp:// URL."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, None
    host = parts.netloc.rpartition("@")[2]
    return (urlunsplit(parts._replace(netloc=host)), unquote(parts.username),
            None if parts.password is None else unquote(parts.password))


class _Track:
    """One set-up track's receive state: RTCP receiver reports and where they go."""

    def __init__(self, setup: SetupTrack) -> None:
        self.setup = setup
        self.clock_rate_hz = setup.track.clock_rate_hz
        self.stats = ReceptionStats()
        self.last_sr: SenderReport | None = None
        self.last_sr_arrival_s: float | None = None
        self.received = False


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, session: NativeSession, track: int, rtcp: bool) -> None:
        self.session, self.track, self.rtcp = session, track, rtcp

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.session.datagram(self.track, self.rtcp, data, addr)


class _Connection(asyncio.Protocol):
    """The RTSP connection's input, fed straight into the session; `ended` says why it stopped."""

    def __init__(self, session: NativeSession, ended: asyncio.Future[tuple[DownReason, str]]) -> None:
        self.session, self.ended = session, ended
        self.transport: asyncio.Transport | None = None
        self.writable = asyncio.Event()
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.ended.done():
            return
        try:
            self.session._input(data)
        except Exception as error:  # handed to the session's task, which re-raises it
            self.ended.set_exception(error)
            if self.transport is not None:
                self.transport.pause_reading()

    def eof_received(self) -> bool:
        if not self.ended.done():
            self.ended.set_result((DownReason.ENDED, "the camera closed the connection"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ended.done():
            if exc is None:
                self.ended.set_result((DownReason.ENDED, "the camera closed the connection"))
            else:
                self.ended.set_exception(exc)


class NativeSession:
    """One session (with its redirects): `run()` returns why it ended."""

    def __init__(self, params: SessionParams, sink: MediaSink, stop: asyncio.Event) -> None:
        self.params, self.sink, self.stop = params, sink, stop
        self.bad_packets = 0
        self.last_input_s = time.monotonic()
        self._tracks: list[_Track] = []
        self._channels: dict[int, tuple[int, bool]] = {}  # interleaved channel -> (track, is RTCP)
        self._early: list[Interleaved] = []
        self._early_datagrams: list[tuple[int, bool, bytes]] = []
        self._udp: list[tuple[asyncio.DatagramTransport, asyncio.DatagramTransport]] = []
        self._peer_host: str | None = None
        self._transport: asyncio.Transport | None = None
        self._connection_protocol: _Connection | None = None
        self._client: RtspClient | None = None
        self._own_ssrc = random.getrandbits(32)

    async def run(self) -> tuple[DownReason, str]:
        """Why the session ended. A stop while connecting or handshaking ends it as promptly as
        one while playing (which sends TEARDOWN first)."""
        task = asyncio.ensure_future(self._redirecting())
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait((task, stopping), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            stopping.cancel()
        if task.done():
            return task.result()
        await self._teardown()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
        return DownReason.SHUTDOWN, "stopped"

    async def _redirecting(self) -> tuple[DownReason, str]:
        url = self.params.url
        for _ in range(MAX_REDIRECTS + 1):
            try:
                return await self._connection(url)
            except _RedirectError as redirect:
                url = redirect.url
            finally:
                self._close_udp()
        return DownReason.BAD_STREAM, f"more than {MAX_REDIRECTS} redirects"

    async def _connection(self, url: str) -> tuple[DownReason, str]:
        clean, user, password = split_credentials(url)
        if self.params.username is not None:
            user, password = self.params.username, self.params.password
        parts = urlsplit(clean)
        host, port = parts.hostname or "", parts.port or 554
        self._tracks, self._channels, self._early, self._early_datagrams = [], {}, [], []
        loop = asyncio.get_running_loop()
        connection = self._connection_protocol = _Connection(self, loop.create_future())
        transport: asyncio.Transport | None = None
        try:
            async with asyncio.timeout(self.params.timeout_s):
                transport, _ = await loop.create_connection(lambda: connection, host, port)
            self._transport = transport
            self._peer_host = str(transport.get_extra_info("peername")[0])
            ports = await self._bind_udp(transport) if self.params.transport is Transport.UDP else ()
            client = RtspClient(clean, user, password, self.params.transport, self.params.want_audio,
                                time.monotonic(), udp_ports=ports)
            self._client = client
            return await self._serve(client, transport, connection)
        except _EndedError as ended:
            return ended.reason, str(ended)
        except RtspClientError as error:
            return error.reason, str(error)
        except TimeoutError:
            return DownReason.TIMEOUT, f"no answer within {self.params.timeout_s:g} s"
        except OSError as error:
            return classify_failure(error.errno, type(error).__name__, str(error)), str(error)
        finally:
            self._transport, self._client = None, None
            if connection.ended.done() and not connection.ended.cancelled():
                connection.ended.exception()  # retrieved, also when a stop cut the session short
            if transport is not None:
                transport.close()

    async def _serve(self, client: RtspClient, transport: asyncio.Transport,
                     connection: _Connection) -> tuple[DownReason, str]:
        """Input is handled in `_Connection.data_received` as it comes (no coroutine, no timeout
        per read); this loop is the coarse watchdog: keep-alive, receiver reports, read timeout."""
        transport.write(client.data_to_send())
        next_rr_s = time.monotonic() + RR_INTERVAL_S
        self.last_input_s = time.monotonic()
        ended = connection.ended
        while True:
            now = time.monotonic()
            if now >= next_rr_s:
                self._send_receiver_reports(now)
                next_rr_s = now + RR_INTERVAL_S
            timer = client.next_timer_s()
            if timer is not None and timer <= now:
                client.timer(now)
                transport.write(client.data_to_send())
                continue
            read_deadline = self.last_input_s + self.params.timeout_s
            if now >= read_deadline:
                raise _EndedError(DownReason.TIMEOUT, f"nothing from the camera for {self.params.timeout_s:g} s")
            wake = min(x for x in (read_deadline, next_rr_s, timer) if x is not None)
            await asyncio.wait((ended,), timeout=max(0.0, wake - now))
            if ended.done():
                return ended.result()  # raises what ended it (a client error, a redirect, an OSError)

    def _input(self, data: bytes) -> None:
        """Bytes from the RTSP connection (called by `_Connection.data_received`)."""
        client = self._client
        transport = self._transport
        if client is None or transport is None:
            return
        now = time.monotonic()
        self.last_input_s = now
        # One arrival time per read: the packets of one read arrived together.
        arrival_ns, arrival_mono_ns = time.time_ns(), time.monotonic_ns()
        channels = self._channels
        for event in client.receive_data(data, now):
            if type(event) is Interleaved and (mapped := channels.get(event.channel)) is not None:
                self._media(mapped[0], mapped[1], event.data, arrival_ns, arrival_mono_ns)
            else:
                self._event(event)
        out = client.data_to_send()
        if out:
            transport.write(out)

    def _event(self, event: object) -> None:
        if isinstance(event, Interleaved):
            mapped = self._channels.get(event.channel)
            if mapped is not None:
                self._media(mapped[0], mapped[1], event.data, time.time_ns(), time.monotonic_ns())
            elif not self._tracks and len(self._early) < PRE_PLAY_FRAMES:
                self._early.append(event)
        elif isinstance(event, Playing):
            self._playing(event)
        elif isinstance(event, Redirected):
            raise _RedirectError(event.url)

    def _playing(self, event: Playing) -> None:
        setups = [event.video] + ([] if event.audio is None else [event.audio])
        self._tracks = [_Track(s) for s in setups]
        for index, setup in enumerate(setups):
            if setup.rtp_channel is not None:
                self._channels[setup.rtp_channel] = (index, False)
            if setup.rtcp_channel is not None:
                self._channels[setup.rtcp_channel] = (index, True)
        self.sink.playing(event)
        early, self._early = self._early, []
        for frame in early:
            self._event(frame)
        datagrams, self._early_datagrams = self._early_datagrams, []
        for track, rtcp, data in datagrams:
            if track < len(self._tracks):
                self._media(track, rtcp, data, time.time_ns(), time.monotonic_ns())

    def datagram(self, track: int, rtcp: bool, data: bytes, addr: tuple[str | int, ...]) -> None:
        if addr[0] != self._peer_host:
            return  # not from the camera
        self.last_input_s = time.monotonic()
        if not self._tracks:  # before PLAY's answer was read: kept (bounded) for right after it
            if len(self._early_datagrams) < PRE_PLAY_FRAMES:
                self._early_datagrams.append((track, rtcp, data))
        elif track < len(self._tracks):  # else a track that was not set up
            self._media(track, rtcp, data, time.time_ns(), time.monotonic_ns())

    def _media(self, track: int, rtcp: bool, data: bytes, arrival_ns: int, arrival_mono_ns: int) -> None:
        state = self._tracks[track]
        try:
            if rtcp:
                for report in parse_rtcp(data):
                    state.last_sr, state.last_sr_arrival_s = report, time.monotonic()
                    self.sink.sender_report(track, report, arrival_ns)
                return
            packet = parse_rtp(data)
        except RtpError:
            self.bad_packets += 1
            return
        state.received = True
        state.stats.update(packet, arrival_mono_ns * state.clock_rate_hz // 1_000_000_000)
        self.sink.rtp(track, packet, arrival_ns)

    def _send_receiver_reports(self, now_s: float) -> None:
        for index, state in enumerate(self._tracks):
            if not state.received:
                continue
            report = state.stats.receiver_report(self._own_ssrc, state.last_sr, state.last_sr_arrival_s, now_s)
            setup = state.setup
            if setup.rtcp_channel is not None and self._transport is not None:
                self._transport.write(encode_interleaved(setup.rtcp_channel, report))
            elif setup.server_ports is not None and index < len(self._udp) and self._peer_host is not None:
                self._udp[index][1].sendto(report, (self._peer_host, setup.server_ports[1]))

    async def _teardown(self) -> None:
        """TEARDOWN on the open connection (when the client has a session), best effort."""
        client, transport, connection = self._client, self._transport, self._connection_protocol
        if client is None or transport is None or connection is None:
            return
        client.close()
        out = client.data_to_send()
        if out:
            with contextlib.suppress(OSError, TimeoutError):
                transport.write(out)
                async with asyncio.timeout(TEARDOWN_WAIT_S):
                    await connection.writable.wait()

    async def _bind_udp(self, transport: asyncio.Transport) -> tuple[tuple[int, int], ...]:
        """An even/odd port pair per track that may be set up, bound before SETUP."""
        family = transport.get_extra_info("socket").family
        loop = asyncio.get_running_loop()
        ports = []
        for track in range(2 if self.params.want_audio else 1):
            rtp_sock, rtcp_sock = _port_pair(family)
            rtp_t, _ = await loop.create_datagram_endpoint(partial(_Datagrams, self, track, False), sock=rtp_sock)
            rtcp_t, _ = await loop.create_datagram_endpoint(partial(_Datagrams, self, track, True), sock=rtcp_sock)
            self._udp.append((rtp_t, rtcp_t))
            ports.append((rtp_sock.getsockname()[1], rtcp_sock.getsockname()[1]))
        return tuple(ports)

    def _close_udp(self) -> None:
        for rtp_t, rtcp_t in self._udp:
            rtp_t.close()
            rtcp_t.close()
        self._udp = []


def _port_pair(family: socket.AddressFamily) -> tuple[socket.socket, socket.socket]:
    """Two UDP sockets on consecutive ports, the first even (RFC 3550 §11)."""
    any_host = "::" if family == socket.AF_INET6 else "0.0.0.0"  # noqa: S104 (the camera sends to us)
    for _ in range(UDP_BIND_TRIES):
        rtp_sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            rtp_sock.bind((any_host, 0))
            port = rtp_sock.getsockname()[1]
            if port % 2 == 0 and port < 65535:
                rtcp_sock = socket.socket(family, socket.SOCK_DGRAM)
                try:
                    rtcp_sock.bind((any_host, port + 1))
                except OSError:
                    rtcp_sock.close()
                else:
                    rtp_sock.setblocking(False)
                    rtcp_sock.setblocking(False)
                    return rtp_sock, rtcp_sock
        except BaseException:
            rtp_sock.close()
            raise
        rtp_sock.close()
    raise OSError(errno_codes.EADDRINUSE, "no free even/odd UDP port pair for RTP/RTCP")
