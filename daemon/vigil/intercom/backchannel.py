"""Talk through a camera's ONVIF audio backchannel (ONVIF Streaming Specification §5.3).

An RTSP client of its own (not the ingest's connection): OPTIONS, DESCRIBE with
`Require: www.onvif.org/ver20/backchannel` (Basic or Digest auth), SETUP of the sendonly audio
track over RTP/AVP/TCP interleaved, PLAY; then `send` writes G.711 as RTP in `$` frames on the same
connection, a keep-alive (GET_PARAMETER, else OPTIONS) goes out at half the session timeout, and
`aclose` sends TEARDOWN. The pure parts are core/rtsp_messages.py (framing), core/http_digest.py
(auth) and core/backchannel_sdp.py (track choice, RTP packets).

Errors: 551 or an SDP without a usable backchannel is TalkUnsupportedError; no answer within
`timeout_s`, a refused connection, refused credentials, anything unparseable or a session the
camera drops is TalkDeviceError (the sink's `lost` says why). The camera password is never put
in a message or a log line."""

from __future__ import annotations

import asyncio
import logging
import secrets
from urllib.parse import unquote, urlsplit, urlunsplit

from vigil.config import CameraConfig
from vigil.core.backchannel_sdp import BACKCHANNEL_REQUIRE, RtpPacketizer, pick_backchannel
from vigil.core.errors import TalkDeviceError, TalkUnsupportedError
from vigil.core.http_digest import (
    AuthHeaderError,
    Challenge,
    SignIn,
    UnsupportedAuthError,
    any_stale,
    parse_challenges,
    pick_challenge,
)
from vigil.core.media import AudioCodec
from vigil.core.rtsp_messages import (
    Headers,
    InterleavedFrame,
    RtspProtocolError,
    RtspReader,
    RtspResponse,
    encode_interleaved,
    encode_request,
    parse_interleaved,
    parse_session,
)

log = logging.getLogger(__name__)

USER_AGENT = "Vigil"
READ_CHUNK = 64 * 1024
CLOSE_TIMEOUT_S = 1.0


def _split_url(url: str) -> tuple[str, int, str, str | None, str | None]:
    """(host, port, URL without credentials, user, password) of an rtsp:// URL."""
    parts = urlsplit(url)
    try:
        port = parts.port or 554
    except ValueError:
        port = 0
    if parts.scheme.lower() != "rtsp" or not parts.hostname or not port:
        raise TalkUnsupportedError("an ONVIF backchannel needs an rtsp://host[:port]/ talk_url (or camera url)")
    host = parts.hostname
    netloc = f"[{host}]" if ":" in host else host
    if port != 554:
        netloc += f":{port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return host, port, clean, user, password


def _stale(response: RtspResponse) -> bool:
    """A 401 that only says our nonce expired: sign in again at once."""
    try:
        return any_stale(parse_challenges(response.headers_named("WWW-Authenticate")))
    except AuthHeaderError:
        return False


class _Auth:
    """The camera's sign-in (core/http_digest.SignIn) and the talk session's errors."""

    def __init__(self, username: str | None, password: str | None) -> None:
        self.sign_in = SignIn(username, password, secrets.token_hex(8))

    @property
    def challenge(self) -> Challenge | None:
        return self.sign_in.challenge

    def header(self, method: str, uri: str) -> Headers:
        value = self.sign_in.value(method, uri)
        return () if value is None else (("Authorization", value),)

    def answer(self, response: RtspResponse) -> None:
        if self.sign_in.username is None:
            raise TalkDeviceError("the camera asks for a sign-in and no username is configured")
        try:
            self.sign_in.adopt(pick_challenge(parse_challenges(response.headers_named("WWW-Authenticate"))))
        except (AuthHeaderError, UnsupportedAuthError) as e:
            raise TalkDeviceError(f"the camera's sign-in cannot be answered: {e}") from e


class BackchannelSink:
    """An open backchannel session: G.711 in, RTP over the RTSP connection out."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: str, auth: _Auth, io_timeout_s: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._rtsp = RtspReader()
        self._cseq = 0
        self._lost: str | None = None
        self._closed = False
        self._tasks: list[asyncio.Task[None]] = []
        self._io_timeout_s = io_timeout_s
        self.url = url  # without credentials
        self.auth = auth
        # set by _negotiate once the camera accepted the session
        self.codec = AudioCodec.PCMU
        self.channel = 0
        self.packetizer = RtpPacketizer(0, 0, 0, 0)
        self.session = ""

    @property
    def lost(self) -> str | None:
        return self._lost

    # -- setting up (one request at a time) --

    def _write_request(self, method: str, uri: str, extra: Headers) -> None:
        self._cseq += 1
        headers: Headers = (("User-Agent", USER_AGENT), *self.auth.header(method, uri), *extra)
        if self.session:
            headers = (*headers, ("Session", self.session))
        self._writer.write(encode_request(method, uri, self._cseq, headers))

    async def _read_response(self) -> RtspResponse:
        while True:
            event = self._rtsp.next_event()
            if isinstance(event, RtspResponse):
                return event
            if isinstance(event, InterleavedFrame):
                continue  # RTCP from the camera before PLAY's answer
            if event is not None:
                raise TalkDeviceError("the camera sent a request during the talk set-up")
            data = await self._reader.read(READ_CHUNK)
            if not data:
                raise TalkDeviceError("the camera closed the connection during the talk set-up")
            self._rtsp.feed(data)

    async def request(self, method: str, uri: str, extra: Headers = ()) -> RtspResponse:
        """One request and its answer, signing in once when the camera asks (401)."""
        for attempt in range(2):
            self._write_request(method, uri, extra)
            await self._writer.drain()
            response = await self._read_response()
            if response.status != 401:
                return response
            if attempt == 1 or (self.auth.challenge is not None and not _stale(response)):
                break
            self.auth.answer(response)
        raise TalkDeviceError(f"the camera refused the credentials ({method}: 401 Unauthorized)")

    def start(self, keepalive_method: str, session_timeout_s: int) -> None:
        self._tasks = [
            asyncio.create_task(self._pump(), name="backchannel-pump"),
            asyncio.create_task(
                self._keepalive(keepalive_method, max(1.0, session_timeout_s / 2)), name="backchannel-keepalive"
            ),
        ]

    # -- talking --

    def _set_lost(self, reason: str) -> None:
        if self._lost is None:
            self._lost = reason
            log.info("backchannel %s lost: %s", self.url, reason)

    async def _pump(self) -> None:
        """Reads what the camera sends while we talk (keep-alive answers, RTCP) to notice its end."""
        try:
            while True:
                data = await self._reader.read(READ_CHUNK)
                if not data:
                    self._set_lost("the camera closed the talk connection")
                    break
                self._rtsp.feed(data)
                while (event := self._rtsp.next_event()) is not None:
                    if isinstance(event, RtspResponse) and event.status == 454:
                        self._set_lost("the camera ended the talk session (454 Session Not Found)")
        except OSError as e:
            self._set_lost(f"the talk connection failed ({e.__class__.__name__})")
        except RtspProtocolError as e:
            self._set_lost(f"the camera sent something unreadable ({e})")
        if self._lost is not None:
            self._writer.close()

    async def _keepalive(self, method: str, interval_s: float) -> None:
        while self._lost is None:
            await asyncio.sleep(interval_s)
            try:
                self._write_request(method, self.url, ())
                async with asyncio.timeout(self._io_timeout_s):
                    await self._writer.drain()
            except (OSError, TimeoutError, RuntimeError) as e:
                self._set_lost(f"the keep-alive could not be sent ({e.__class__.__name__})")

    async def send(self, g711: bytes) -> None:
        if self._lost is not None:
            raise TalkDeviceError(self._lost)
        if self._closed:
            raise TalkDeviceError("the talk session is closed")
        frames = b"".join(encode_interleaved(self.channel, p) for p in self.packetizer.packets(g711))
        try:
            self._writer.write(frames)
            async with asyncio.timeout(self._io_timeout_s):
                await self._writer.drain()
        except (OSError, TimeoutError, RuntimeError) as e:
            self._set_lost(f"the camera stopped taking audio ({e.__class__.__name__})")
            self._writer.close()
            raise TalkDeviceError(self._lost or "the camera stopped taking audio") from e

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            for task in self._tasks:
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks)
            if self._lost is None and self.session:
                self._write_request("TEARDOWN", self.url, ())
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await self._writer.drain()
        except (OSError, TimeoutError, RuntimeError):
            pass  # the camera will time the session out
        finally:
            self._writer.close()  # also when aclose itself is cancelled
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self._writer.wait_closed()
        except (OSError, TimeoutError):
            pass


def _check(response: RtspResponse, method: str) -> None:
    if response.status == 551:
        raise TalkUnsupportedError(
            f"the camera does not support the ONVIF audio backchannel ({method}: 551 Option not supported)"
        )
    if not 200 <= response.status < 300:
        raise TalkDeviceError(f"the camera answered {method} with {response.status} {response.reason}".strip())


async def _negotiate(sink: BackchannelSink, url: str) -> None:
    require: Headers = (("Require", BACKCHANNEL_REQUIRE),)
    options = await sink.request("OPTIONS", url)
    public = (options.header("Public") or "").upper() if 200 <= options.status < 300 else ""
    describe = await sink.request("DESCRIBE", url, (("Accept", "application/sdp"), *require))
    _check(describe, "DESCRIBE")
    base = describe.header("Content-Base") or describe.header("Content-Location") or url
    try:
        sdp = describe.body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TalkDeviceError("the camera's SDP is not UTF-8") from e
    track = pick_backchannel(sdp, base)
    transport = "RTP/AVP/TCP;unicast;interleaved=0-1"
    setup = await sink.request("SETUP", track.control_url, (("Transport", transport), *require))
    _check(setup, "SETUP")
    session_header = setup.header("Session")
    if session_header is None:
        raise TalkDeviceError("the camera's SETUP answer has no Session")
    try:
        sink.session, session_timeout_s = parse_session(session_header)
    except RtspProtocolError as e:
        raise TalkDeviceError(str(e)) from e
    channels = parse_interleaved(setup.header("Transport") or transport)
    sink.channel = channels[0] if channels is not None else 0
    play = await sink.request("PLAY", url, (("Range", "npt=0-"), *require))
    _check(play, "PLAY")
    sink.codec = track.codec
    sink.packetizer = RtpPacketizer(
        track.payload_type, secrets.randbits(32), secrets.randbits(16), secrets.randbits(32)
    )
    sink.start("GET_PARAMETER" if "GET_PARAMETER" in public else "OPTIONS", session_timeout_s)


async def open_backchannel(camera: CameraConfig, timeout_s: float) -> BackchannelSink:
    """A talk session on `camera`'s ONVIF backchannel, ready for `send` (see the module rules)."""
    host, port, url, url_user, url_password = _split_url(camera.talk_url or camera.url)
    username = camera.username if camera.username is not None else url_user
    password = camera.password if camera.username is not None else url_password
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
            sink = BackchannelSink(reader, writer, url, _Auth(username, password), max(1.0, timeout_s))
            await _negotiate(sink, url)
            return sink
    except BaseException as e:
        if writer is not None:
            writer.close()
        if isinstance(e, TimeoutError):
            raise TalkDeviceError(f"the camera did not set up the talk session within {timeout_s:g} s") from e
        if isinstance(e, OSError):
            raise TalkDeviceError(f"cannot reach the camera at {host}:{port} ({e.__class__.__name__})") from e
        if isinstance(e, RtspProtocolError):
            raise TalkDeviceError(f"the camera sent something unreadable ({e})") from e
        raise
