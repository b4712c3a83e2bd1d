"""The OpenAccess transport: sends core.onguard's requests with aiohttp, keeps the session token,
and logs in again once when the server says the session expired.

TLS is verified by default (`ca_file` for a site CA; `verify_tls = false` only for a lab). The
password and session token are never logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import Any

import aiohttp

from vigil.config import OnGuardConfig
from vigil.core import onguard as og
from vigil.core.json_text import parse_json

log = logging.getLogger(__name__)


class OnGuardUnavailableError(Exception):
    """The server could not be reached or answered with a server error: back off and retry."""


class OnGuardRefusedError(Exception):
    """The server refused the login or the request; retrying soon will not help."""


def ssl_context_of(config: OnGuardConfig) -> ssl.SSLContext | bool:
    if not config.url.startswith("https:"):
        return False
    if not config.verify_tls:
        return False
    return ssl.create_default_context(cafile=None if config.ca_file is None else str(config.ca_file))


class OnGuardClient:
    def __init__(self, config: OnGuardConfig, http: aiohttp.ClientSession) -> None:
        self.config = config
        self.http = http
        self._token: str | None = None
        self._ssl = ssl_context_of(config)
        self.logins = 0

    async def _send(self, request: og.Request) -> tuple[int, Any]:
        url = self.config.url + request.path
        try:
            async with self.http.request(request.method, url, params=dict(request.params),
                                         headers=dict(request.headers), json=request.body, ssl=self._ssl,
                                         timeout=aiohttp.ClientTimeout(total=self.config.timeout_s)) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise OnGuardUnavailableError(f"{request.method} {request.path}: {type(error).__name__}: {error}") from None
        try:
            body = parse_json(text, replace_lone_surrogates=True) if text else None
        except ValueError:
            if status >= 500 or status in (408, 429):
                raise OnGuardUnavailableError(f"{request.method} {request.path}: HTTP {status}") from None
            raise og.ProtocolError(f"{request.method} {request.path}: HTTP {status}, not JSON") from None
        return status, body

    async def login(self) -> None:
        c = self.config
        status, body = await self._send(og.login_request(c.application_id, c.user, c.password, c.directory, c.version))
        if status != 200:
            self._fail(og.classify_error(status, body, during_login=True), "POST /authentication", status, body)
        self._token = og.parse_session_token(body)
        self.logins += 1
        log.info("onguard %s: logged in as %s", c.source, c.user)

    def _fail(self, failure: og.Failure, what: str, status: int, body: Any) -> None:
        message = f"{what}: HTTP {status} ({og.error_text(body)})"
        if failure is og.Failure.UNAVAILABLE:
            raise OnGuardUnavailableError(message)
        raise OnGuardRefusedError(message)

    async def events_page(self, window: og.Window, page_number: int) -> og.EventsPage:
        """One page of logged events; an expired session is renewed once, then the page is asked again."""
        for attempt in (0, 1):
            if self._token is None:
                await self.login()
            assert self._token is not None
            c = self.config
            request = og.events_request(c.application_id, self._token, window, c.server_tz, page_number,
                                        c.page_size, c.version)
            status, body = await self._send(request)
            if status == 200:
                return og.parse_events_page(body, page_number)
            failure = og.classify_error(status, body, during_login=False)
            if failure is og.Failure.SESSION and attempt == 0:
                log.info("onguard %s: session expired (%s); logging in again", c.source, og.error_text(body))
                self._token = None
                continue
            self._fail(failure, "GET /logged_events", status, body)
        raise AssertionError("unreachable")

    async def logout(self) -> None:
        """Best effort: the session expires on its own anyway."""
        if self._token is None:
            return
        c = self.config
        request = og.Request("DELETE", "/authentication", {"version": c.version},
                             {"Application-Id": c.application_id, "Session-Token": self._token})
        self._token = None
        with contextlib.suppress(OnGuardUnavailableError, og.ProtocolError, TimeoutError):
            await asyncio.wait_for(self._send(request), 3.0)
