"""The appliance's two calls to its district hub (design/district.md): enrolment (`POST /api/enrol`,
before it trusts anything of the hub's: TLS unchecked, the answer's HMAC checked by the caller)
and token renewal (`POST /api/site/tokens`, with this site's certificate, the hub's checked
against the district CA). Nothing here is logged: the bodies hold tokens and certificates."""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass

import aiohttp

from vigil.core.errors import UnavailableError
from vigil.district.state import Enrolment

MAC_HEADER = "Vigil-Enrol-Mac"
TIMEOUT_S = 10.0
MAX_ANSWER_BYTES = 64 * 1024


class HubRefusedError(Exception):
    """The hub answered, and said no (its problem's detail is the message)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True)
class EnrolReply:
    status: int
    body: bytes
    mac: str  # the answer's Vigil-Enrol-Mac header ("" if none)


def problem_detail(body: bytes) -> str | None:
    """The `detail` of a hub's problem+json answer (cut to 300 characters), or None."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return str(value["detail"])[:300] if isinstance(value, dict) and isinstance(value.get("detail"), str) else None


def _detail(status: int, body: bytes) -> str:
    detail = problem_detail(body)
    return f"HTTP {status}" if detail is None else f"{status}: {detail}"


async def _read(response: aiohttp.ClientResponse) -> bytes:
    body = await response.content.read(MAX_ANSWER_BYTES + 1)
    if len(body) > MAX_ANSWER_BYTES:
        raise UnavailableError("the hub's answer is too large")
    return body


async def post_enrol(hub_url: str, body: bytes, mac: str, timeout_s: float = TIMEOUT_S) -> EnrolReply:
    """Send the enrolment request. The hub's certificate is not checked (no CA yet): the caller
    takes the answer only if its MAC proves the hub holds the enrolment code."""
    url = hub_url.rstrip("/") + "/api/enrol"
    try:
        async with asyncio.timeout(timeout_s), aiohttp.ClientSession() as client, client.post(
                url, data=body, ssl=False,
                headers={"Content-Type": "application/json", MAC_HEADER: mac}) as response:
            return EnrolReply(response.status, await _read(response), response.headers.get(MAC_HEADER, ""))
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        raise UnavailableError(f"cannot reach the hub at {hub_url}: {error or type(error).__name__}") from None


def site_tls(enrolment: Enrolment) -> ssl.SSLContext:
    """TLS to the hub: its certificate must chain to the district CA; ours is the site's (blocking: reads files)."""
    context = ssl.create_default_context(cafile=str(enrolment.files.ca))
    context.load_cert_chain(str(enrolment.files.cert), str(enrolment.files.key))
    return context


async def renew_token(enrolment: Enrolment, tls: ssl.SSLContext, user: str, token_id: str,
                      timeout_s: float = TIMEOUT_S) -> str:
    """A fresh hub token for `user` (audience: this site); HubRefusedError when the hub says no,
    UnavailableError when it cannot be reached or answers something else."""
    url = enrolment.info.hub_url + "/api/site/tokens"
    try:
        async with asyncio.timeout(timeout_s), aiohttp.ClientSession() as client, client.post(
                url, json={"user": user, "token_id": token_id}, ssl=tls) as response:
            body = await _read(response)
            status = response.status
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        raise UnavailableError(f"cannot reach the hub at {enrolment.info.hub_url}: "
                               f"{error or type(error).__name__}") from None
    if status in (401, 403):
        raise HubRefusedError(status, _detail(status, body))
    if status != 200:
        raise UnavailableError(f"the hub answered {_detail(status, body)}")
    try:
        token = json.loads(body.decode("utf-8")).get("token")
    except (UnicodeDecodeError, ValueError, AttributeError):
        token = None
    if not isinstance(token, str):
        raise UnavailableError("the hub's answer holds no token")
    return token
