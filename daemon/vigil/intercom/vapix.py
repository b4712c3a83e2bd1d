"""Talk through an Axis device's loudspeaker: VAPIX `POST /axis-cgi/audio/transmit.cgi`.

The body is `audio/basic` (G.711 mu-law, 8 kHz mono) streamed with chunked transfer encoding for as
long as the talk lasts; the device plays what arrives and answers when the body ends. So the sink's
codec is always PCMU and the talk session sends what `codec` says.

Opening: an empty POST first (no audio), which tells us what the device wants before any audio is
queued: 401 → sign in (Digest MD5/SHA-256 or Basic, core/http_digest.py, answered once: a second
401 is refused credentials), 404 → the device has no audio output (TalkUnsupportedError), another
status, a refused connection or no answer within `timeout_s` → TalkDeviceError. Then the streaming
POST starts, signed with the same challenge (next nonce count). Each `send` queues one chunk
(bounded: MAX_QUEUED_CHUNKS); a device that stops reading for `timeout_s`, answers early or closes
the connection sets `lost`, and the next `send` raises TalkDeviceError."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp

from vigil.config import CameraConfig
from vigil.core.errors import TalkDeviceError, TalkUnsupportedError
from vigil.core.http_digest import (
    AuthHeaderError,
    Challenge,
    UnsupportedAuthError,
    authorization,
    parse_challenges,
    pick_challenge,
)
from vigil.core.media import AudioCodec

log = logging.getLogger(__name__)

TRANSMIT_PATH = "/axis-cgi/audio/transmit.cgi"
CONTENT_TYPE = "audio/basic"
MAX_QUEUED_CHUNKS = 25  # 0.5 s of 20 ms chunks
CLOSE_TIMEOUT_S = 2.0


def transmit_url(camera: CameraConfig) -> str:
    """`talk_url` (or http://<the camera url's host>) + the transmit.cgi path."""
    base = camera.talk_url
    if base is None:
        host = urlsplit(camera.url).hostname
        if not host:
            raise TalkUnsupportedError(f"camera {camera.id} has no host to send VAPIX audio to")
        base = f"http://[{host}]" if ":" in host else f"http://{host}"
    if urlsplit(base).scheme.lower() not in ("http", "https"):
        raise TalkUnsupportedError("a VAPIX talk_url must be an http(s):// base URL")
    return base.rstrip("/") + TRANSMIT_PATH


class VapixSink:
    """A streaming transmit.cgi request: G.711 mu-law chunks in, chunked HTTP body out."""

    codec = AudioCodec.PCMU

    def __init__(self, session: aiohttp.ClientSession, url: str, headers: dict[str, str], io_timeout_s: float) -> None:
        self._session = session
        self._url = url
        self._headers = headers
        self._io_timeout_s = io_timeout_s
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(MAX_QUEUED_CHUNKS)
        self._lost: str | None = None
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="vapix-transmit")

    @property
    def lost(self) -> str | None:
        return self._lost

    def _set_lost(self, reason: str) -> None:
        if self._lost is None and not self._closing:
            self._lost = reason
            log.info("VAPIX talk to %s lost: %s", self._url, reason)

    async def _body(self) -> AsyncIterator[bytes]:
        while (chunk := await self._queue.get()) is not None:
            yield chunk

    async def _run(self) -> None:
        try:
            async with self._session.post(self._url, data=self._body(), headers=self._headers) as response:
                if response.status == 401:
                    self._set_lost("the device refused the credentials (401)")
                elif not 200 <= response.status < 300:
                    self._set_lost(f"the device answered {response.status} {response.reason or ''}".strip())
                else:
                    self._set_lost("the device ended the audio stream")
        except (aiohttp.ClientError, OSError, TimeoutError) as e:
            self._set_lost(f"the audio connection failed ({e.__class__.__name__})")

    async def send(self, g711: bytes) -> None:
        if self._lost is not None:
            raise TalkDeviceError(self._lost)
        if self._closing:
            raise TalkDeviceError("the talk session is closed")
        if not g711:
            return
        put = asyncio.ensure_future(self._queue.put(g711))
        done, _ = await asyncio.wait((put, self._task), timeout=self._io_timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if put not in done:
            put.cancel()
            await asyncio.wait((put,))
            self._set_lost("the device stopped taking audio")
            raise TalkDeviceError(self._lost or "the device stopped taking audio")

    async def aclose(self) -> None:
        if self._closing:
            return
        self._closing = True
        try:
            self._queue.put_nowait(None)
            await asyncio.wait((self._task,), timeout=CLOSE_TIMEOUT_S)
        except asyncio.QueueFull:
            pass
        if not self._task.done():
            self._task.cancel()
            await asyncio.wait((self._task,))
        await self._session.close()


def _sign(challenge: Challenge, camera: CameraConfig, url: str, nc: int, cnonce: str) -> dict[str, str]:
    path = urlsplit(url).path
    value = authorization(challenge, camera.username or "", camera.password or "", "POST", path, cnonce, nc)
    return {"Authorization": value}


async def open_vapix(camera: CameraConfig, timeout_s: float) -> VapixSink:
    """A talk session on `camera`'s VAPIX transmit.cgi, ready for `send` (see the module rules)."""
    url = transmit_url(camera)
    base_headers = {"Content-Type": CONTENT_TYPE}
    timeouts = aiohttp.ClientTimeout(total=None, connect=timeout_s, sock_connect=timeout_s)
    session = aiohttp.ClientSession(timeout=timeouts)
    try:
        async with asyncio.timeout(timeout_s):
            headers = dict(base_headers)
            cnonce, nc = secrets.token_hex(8), 0
            challenge: Challenge | None = None
            for _attempt in range(2):
                async with session.post(url, data=b"", headers=headers) as probe:
                    status, reason = probe.status, probe.reason or ""
                    challenges = probe.headers.getall("WWW-Authenticate", [])
                if status != 401 or challenge is not None:
                    break
                if camera.username is None:
                    raise TalkDeviceError("the device asks for a sign-in and no username is configured")
                try:
                    challenge = pick_challenge(parse_challenges(challenges))
                except (AuthHeaderError, UnsupportedAuthError) as e:
                    raise TalkDeviceError(f"the device's sign-in cannot be answered: {e}") from e
                nc += 1
                headers = {**base_headers, **_sign(challenge, camera, url, nc, cnonce)}
            if status == 401:
                raise TalkDeviceError("the device refused the credentials (401 Unauthorized)")
            if status == 404:
                raise TalkUnsupportedError("the device has no VAPIX audio output (transmit.cgi: 404 Not Found)")
            if not 200 <= status < 300:
                raise TalkDeviceError(f"the device answered transmit.cgi with {status} {reason}".strip())
            if challenge is not None:
                nc += 1
                headers = {**base_headers, **_sign(challenge, camera, url, nc, cnonce)}
        return VapixSink(session, url, headers, max(1.0, timeout_s))
    except BaseException as e:
        await session.close()
        if isinstance(e, TimeoutError):
            raise TalkDeviceError(f"the device did not answer within {timeout_s:g} s") from e
        if isinstance(e, (aiohttp.ClientError, OSError)):
            raise TalkDeviceError(f"cannot reach the device ({e.__class__.__name__})") from e
        raise
