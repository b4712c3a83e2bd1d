"""A simulated Axis loudspeaker: VAPIX `POST /axis-cgi/audio/transmit.cgi` on an aiohttp server.

Usage::

    python -m vigil.sim.vapix_speaker --bind 127.0.0.1 --port 0 [--auth user:password] \\
        [--fault no-audio|drop=N|stall] [--dump /tmp/talk.ulaw]

It prints ``READY <port>``; set a camera's ``talk = "vapix"`` and ``talk_url = "http://127.0.0.1:PORT"``.
In tests, use `VapixSpeaker` in-process.

- ``--auth``: every request needs HTTP Digest (MD5, qop=auth), checked by its own small code (not
  Vigil's client); a request without it gets 401 and a challenge.
- The body must be ``audio/basic`` (415 otherwise); it is read as it streams and every byte is kept
  (`heard`, and appended to ``--dump`` as raw mu-law), each POST in `bodies`. 204 when it ends.
- Faults: ``no-audio`` answers 404 (a device without audio output); ``drop=N`` closes the
  connection after N body bytes of a POST; ``stall`` stops reading a POST's body after its first
  chunk (and answers nothing)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

REALM = "AXIS_SIM"
PATH = "/axis-cgi/audio/transmit.cgi"


@dataclass
class VapixSpeaker:
    auth: tuple[str, str] | None = None
    fault: str | None = None
    dump: Path | None = None
    bind: str = "127.0.0.1"
    port: int = 0
    bodies: list[bytes] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    _nonce: str = field(default_factory=lambda: secrets.token_hex(12))
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.bind}:{self.port}"

    @property
    def heard(self) -> bytes:
        return b"".join(self.bodies)

    async def start(self) -> VapixSpeaker:
        app = web.Application()
        app.router.add_post(PATH, self._transmit)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind, self.port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> VapixSpeaker:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _authorized(self, request: web.Request) -> bool:
        if self.auth is None:
            return True
        value = request.headers.get("Authorization", "")
        if not value.startswith("Digest "):
            return False
        params = {m[0]: m[1] or m[2] for m in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', value)}
        user, password = self.auth
        ha1 = hashlib.md5(f"{user}:{REALM}:{password}".encode()).hexdigest()  # noqa: S324
        ha2 = hashlib.md5(f"POST:{params.get('uri', '')}".encode()).hexdigest()  # noqa: S324
        expected = hashlib.md5(  # noqa: S324
            f"{ha1}:{self._nonce}:{params.get('nc', '')}:{params.get('cnonce', '')}:auth:{ha2}".encode()
        ).hexdigest()
        signed = params.get("username") == user and params.get("nonce") == self._nonce
        return signed and params.get("uri") == PATH and params.get("response") == expected

    async def _answer(self, status: int, headers: dict[str, str] | None = None) -> web.Response:
        self.statuses.append(status)
        return web.Response(status=status, headers=headers)

    async def _transmit(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            challenge = f'Digest realm="{REALM}", nonce="{self._nonce}", algorithm=MD5, qop="auth"'
            return await self._answer(401, {"WWW-Authenticate": challenge})
        if self.fault == "no-audio":
            return await self._answer(404)
        if request.content_type != "audio/basic":
            return await self._answer(415)
        body = bytearray()
        self.bodies.append(b"")
        index = len(self.bodies) - 1
        drop_after = int(self.fault.partition("=")[2]) if self.fault and self.fault.startswith("drop=") else None
        async for chunk in request.content.iter_any():
            body += chunk
            self.bodies[index] = bytes(body)
            if self.dump is not None:
                with self.dump.open("ab") as f:
                    f.write(chunk)
            if drop_after is not None and len(body) >= drop_after and request.transport is not None:
                request.transport.close()
                return web.Response(status=500)
            if self.fault == "stall":
                await asyncio.Event().wait()
        return await self._answer(204)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--auth", help="user:password (Digest)")
    parser.add_argument("--fault", help="no-audio, drop=N or stall")
    parser.add_argument("--dump", type=Path)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    user, _, password = (args.auth or "").partition(":")

    async def run() -> None:
        speaker = VapixSpeaker((user, password) if args.auth else None, args.fault, args.dump, args.bind, args.port)
        async with speaker:
            print(f"READY {speaker.port}", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
