"""onvif-zeep-async (Home Assistant's ONVIF client) kept inside the probe network policy, with its
failures told apart.

What the library does, and what is changed here:
- SOAP goes through zeep with WS-UsernameToken *digests* (`encrypt=True`: SHA-1 of nonce, time and
  password; the password itself never crosses the network). No HTTP Basic for SOAP.
- Its WSDLs ship with the package (onvif/wsdl; ONVIFCamera's default `wsdl_dir`), loaded from disk
  on a thread; nothing is fetched from the network. There is no Media2 (ver20) WSDL in 4.3: Media2 is
  detected from GetServices and its three requests are built in media2.py.
- zeep's shared settings (onvif.settings.DEFAULT_SETTINGS) are tightened at import (onvif_lib.py):
  `forbid_dtd`, `forbid_entities`, `forbid_external` and no `xml_huge_tree`, so a DOCTYPE (a
  billion-laughs bomb, an external entity) is refused before it is expanded; the library's
  `logging.basicConfig` at import is undone there too.
- Every POST the library makes goes through `_guarded_post`: the address (a device-given XAddr
  too) is resolved and checked against the policy and the checked address is used; redirects are
  not followed; an answer is read up to MAX_ANSWER_BYTES; the HTTP status is kept so that a 401
  without a SOAP body is told from a fault. This replaces the transport's `_post_internal`, a
  private method: the version is pinned (<5) and tests/integration/camera_setup cover it.
- Its logger writes requests at DEBUG (usernames and digests, never a password); the daemon does
  not log `onvif`/`zeep` at DEBUG."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import zeep.exceptions
from lxml import etree

from vigil.camera_setup import untrusted_xml
from vigil.camera_setup.onvif_lib import ONVIFCamera, ONVIFError, ONVIFTimeoutError
from vigil.camera_setup.reach import pin_url
from vigil.core.errors import (
    CameraSetupError,
    MalformedXmlError,
    NotOnvifError,
    OnvifUnauthorizedError,
    SoapFaultError,
    UnreachableError,
)
from vigil.core.probe_networks import IPNetwork

MAX_ANSWER_BYTES = 1 << 20  # the largest GetProfiles seen is ~60 kB
_AUTH_SUBCODES = ("notauthorized", "failedauthentication", "invalidsecurity", "failedcheck")

PostInternal = Callable[[str, "str | bytes", dict[str, str]], Awaitable[tuple[aiohttp.ClientResponse, bytes]]]


class GuardedCamera(ONVIFCamera):  # type: ignore[misc]
    """ONVIFCamera whose every request stays inside `networks`, with short timeouts."""

    def __init__(self, address: str, port: int, user: str | None, password: str | None,
                 networks: tuple[IPNetwork, ...], timeout_s: float) -> None:
        super().__init__(address, port, user, password, no_cache=True)
        self.networks = networks
        self.timeout_s = timeout_s
        self.last_status: int | None = None
        self.addresses_posted: list[str] = []

    async def create_onvif_service(self, name: str, port_type: str | None = None, read_timeout: int | None = None,
                                   write_timeout: int | None = None) -> Any:
        service = await super().create_onvif_service(name, port_type, read_timeout, write_timeout)
        transport = service.transport
        if not getattr(transport, "vigil_guarded", False):
            transport._post_internal = self._guarded_post(transport)
            transport.vigil_guarded = True
        return service

    def _guarded_post(self, transport: Any) -> PostInternal:
        async def post(address: str, message: str | bytes,
                       headers: dict[str, str]) -> tuple[aiohttp.ClientResponse, bytes]:
            pinned = await pin_url(address, self.networks)  # AddressNotAllowedError: nothing sent
            self.addresses_posted.append(pinned)
            headers = dict(headers or {})
            headers.setdefault("Content-Type", 'application/soap+xml; charset="utf-8"')
            data = message.encode("utf-8") if isinstance(message, str) else message
            session: aiohttp.ClientSession = transport.session
            response = await session.post(pinned, data=data, headers=headers, allow_redirects=False,
                                          timeout=aiohttp.ClientTimeout(total=self.timeout_s))
            try:
                content = await response.content.read(MAX_ANSWER_BYTES + 1)
            finally:
                response.release()
            self.last_status = response.status
            if len(content) > MAX_ANSWER_BYTES:
                raise MalformedXmlError(f"the device's answer is over {MAX_ANSWER_BYTES // 1024} KiB; refused")
            check_answer(response.status, response.headers.get("Content-Type", ""), content)
            return response, content

        return post


def check_answer(status: int, content_type: str, content: bytes) -> None:
    """Before zeep sees an answer: zeep parses with `recover=True` (a truncated answer would pass as
    an empty one), so well-formedness is checked here, strictly, and a DOCTYPE is refused unexpanded."""
    if status == 401 and b"Envelope" not in content:
        return  # classify() names it from the status
    if "html" in content_type.lower() and b"Envelope" not in content:
        raise NotOnvifError(f"the device answers HTTP {status} with a web page, not ONVIF SOAP")
    if not content.strip():
        return
    if untrusted_xml.declares_dtd(content):
        raise MalformedXmlError("the device's answer declares a DTD or entities (an XML bomb?); refused unparsed")
    try:
        untrusted_xml.parse(content)
    except etree.XMLSyntaxError as error:
        raise MalformedXmlError(f"the device's answer is not well-formed XML ({str(error)[:120]})") from None


def _chain(error: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in out and len(out) < 8:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def classify(error: BaseException, last_status: int | None, what: str) -> CameraSetupError:
    """One of the contract's errors for whatever the library raised during `what`."""
    for e in _chain(error):
        if isinstance(e, CameraSetupError):
            return e
        if isinstance(e, zeep.exceptions.Fault):
            subcodes = " ".join(etree.QName(c).localname for c in (e.subcodes or ())).lower()
            text = f"{e.message or ''} {subcodes}".lower()
            if last_status == 401 or any(s in text for s in _AUTH_SUBCODES) or "not authorized" in text:
                return OnvifUnauthorizedError(
                    f"{what}: the camera refused the ONVIF user name or password ({e.message or 'NotAuthorized'});"
                    " if they are right, check the camera's clock (see clock)")
            return SoapFaultError(f"{what}: the device answered a SOAP fault: {(e.message or '').strip()[:200]}"
                                  f"{' (' + subcodes + ')' if subcodes else ''}")
        if isinstance(e, zeep.exceptions.DTDForbidden | zeep.exceptions.EntitiesForbidden |
                      zeep.exceptions.ExternalReferenceForbidden):
            return MalformedXmlError(f"{what}: the answer declares a DTD or entities (an XML bomb?); refused"
                                     " unparsed")
        if isinstance(e, zeep.exceptions.XMLSyntaxError) and "Envelope" in str(e):
            return NotOnvifError(f"{what}: the device answers HTTP but not ONVIF SOAP (no SOAP envelope"
                                 f"{', HTTP ' + str(last_status) if last_status else ''})")
        if isinstance(e, zeep.exceptions.XMLSyntaxError | zeep.exceptions.XMLParseError | etree.XMLSyntaxError):
            return MalformedXmlError(f"{what}: the device's answer is not well-formed XML")
        if isinstance(e, zeep.exceptions.TransportError):
            if e.status_code == 401:
                break
            return NotOnvifError(f"{what}: HTTP {e.status_code} where an ONVIF service was expected")
        if isinstance(e, ONVIFTimeoutError | TimeoutError):
            return UnreachableError(f"{what}: no answer in time")
        if isinstance(e, aiohttp.ClientConnectionError | OSError):
            return UnreachableError(f"{what}: cannot connect ({type(e).__name__})")
    if last_status == 401:
        return OnvifUnauthorizedError(f"{what}: the camera answered HTTP 401: wrong ONVIF user name or password")
    if last_status is not None and last_status >= 300:
        return NotOnvifError(f"{what}: HTTP {last_status} where an ONVIF service was expected")
    if isinstance(error, ONVIFError):
        return NotOnvifError(f"{what}: {str(error)[:200]}")
    return MalformedXmlError(f"{what}: the device's answer could not be read as ONVIF ({type(error).__name__})")
