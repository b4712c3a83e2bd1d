"""The outside recipients of incident deliveries, real and on loopback: a dispatch centre's webhook
receiver (an aiohttp server on a thread of its own, so in-process and end-to-end tests share it)
and an SMTP relay (aiosmtpd, with STARTTLS and a login when asked). Each records what it received."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.support.http_call import free_port


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at_monotonic: float


class WebhookReceiver:
    """POSTs to http://127.0.0.1:<port>/hook are recorded and answered `status` (503 while it is
    "down"); `hang_s` > 0 answers only after that long (a receiver that does not answer)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.status = 200
        self.hang_s = 0.0
        self.received: list[Received] = []
        self.answered: list[int] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append(Received(dict(request.headers), body, time.monotonic()))
        status = self.status
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        self.answered.append(status)
        return web.Response(status=status, text="ok" if status < 300 else "down")

    def start(self) -> WebhookReceiver:
        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/hook", self._hook)
            self._runner = web.AppRunner(app)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            self._started.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the webhook receiver did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None
        self._started.clear()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.received]


def self_signed(tmp: Path, name: str = "smtp") -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA: a client trusts it through ca_file) and its key."""
    cert, key = tmp / f"{name}.crt", tmp / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        content = envelope.original_content or b""
        self.sink.messages.append((envelope.mail_from or "", list(envelope.rcpt_tos), message_from_bytes(content),
                                   bool(session.authenticated)))
        return "250 OK"


class MailSink:
    """An SMTP relay on loopback. With `login`, it requires AUTH (refusing other credentials); with
    `tls` (certificate, key), it offers and requires STARTTLS."""

    def __init__(self, login: tuple[str, str] | None = None, tls: tuple[Path, Path] | None = None) -> None:
        self.port = free_port()
        self.login = login
        self.messages: list[tuple[str, list[str], Message, bool]] = []
        self.refused_logins = 0
        context = None
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
        kwargs: dict[str, Any] = {}
        if login is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=tls is not None)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=tls is not None, **kwargs)

    def _authenticate(self, server: Any, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.login is not None and (
            auth_data.login.decode(), auth_data.password.decode()) == self.login
        if not ok:
            self.refused_logins += 1
        return AuthResult(success=ok)

    def start(self) -> MailSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
