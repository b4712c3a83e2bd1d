"""A simulated ONVIF camera: an aiohttp SOAP server replaying recorded answers of real devices.

The answers (bodies of GetDeviceInformation, GetServices, GetCapabilities, GetProfiles, ...) live
in `vigil/sim/onvif_fixtures/<vendor>/` (README there says where each comes from). The stub fills
in what depends on where it runs: service addresses (`{{base}}`), the clock, and the stream and
snapshot URIs, which point at the project's simulated RTSP cameras. It checks WS-UsernameToken
digests like a camera does (a wrong password gets HTTP 400 with `ter:NotAuthorized`), and can be
told to misbehave for the tests: a SOAP fault for everything, malformed XML, an XML bomb, or no
SOAP at all (a web server's HTML). `requests_seen` counts what reached it (the SSRF test asserts 0).

Used by the tests, the benchmark and `vigil demo`."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from lxml import etree

FIXTURES = Path(__file__).with_name("onvif_fixtures")
VENDORS = ("axis", "mobotix", "hikvision")
MISBEHAVIOURS = ("", "fault", "malformed", "bomb", "no-soap", "http-401")
_NS = {"s": "http://www.w3.org/2003/05/soap-envelope",
       "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
       "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"}
_ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
             ' xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"'
             ' xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tr2="http://www.onvif.org/ver20/media/wsdl"'
             ' xmlns:ter="http://www.onvif.org/ver10/error"><s:Body>{body}</s:Body></s:Envelope>')
_BOMB = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;'
         '&lol;&lol;&lol;&lol;">' + "".join(
             f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">' for i in range(2, 10)) +
         ']>\n<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol9;</s:Body></s:Envelope>')
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
MEDIA2_NS = "http://www.onvif.org/ver20/media/wsdl"
_OPEN_OPS = frozenset({"GetSystemDateAndTime"})  # answered without credentials (ONVIF Core, "pre-auth")


def fault(code: str, subcode: str, reason: str) -> str:
    return _ENVELOPE.format(body=(
        f"<s:Fault><s:Code><s:Value>s:{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value>"
        f"<s:Subcode><s:Value>ter:{subcode.split(':')[-1]}</s:Value></s:Subcode></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en">{reason}</s:Text></s:Reason></s:Fault>'))


@dataclass
class OnvifDevice:
    """One simulated camera. `streams`: profile token -> RTSP URL (given to GetStreamUri)."""

    vendor: str = "axis"
    username: str | None = "admin"
    password: str | None = "secret"  # noqa: S105 - a simulated camera's
    streams: dict[str, str] = field(default_factory=dict)
    misbehave: str = ""
    clock_offset_s: float = 0.0  # the device's clock minus the real one
    max_token_age_s: float = 60.0  # WS-UsernameToken Created further than this from the device's clock: refused
    media2_broken: bool = False  # Media2 answers ActionNotSupported (the probe falls back to Media1)
    service_base: str | None = None  # announce services here instead of where it is reached (SSRF tests)
    requests_seen: int = 0
    operations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.vendor not in VENDORS or self.misbehave not in MISBEHAVIOURS:
            raise ValueError(f"vendor {self.vendor!r} / misbehave {self.misbehave!r} unknown")

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple((FIXTURES / self.vendor / "scopes.txt").read_text().split())

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/onvif/{service:.*}", self._soap)
        app.router.add_get("/{tail:.*}", self._page)
        return app

    async def _page(self, request: web.Request) -> web.Response:
        self.requests_seen += 1
        return web.Response(text="<html><body>camera web page</body></html>", content_type="text/html")

    async def _soap(self, request: web.Request) -> web.Response:
        self.requests_seen += 1
        body = await request.read()
        if self.misbehave == "no-soap":
            return web.Response(text="<html><body>It works!</body></html>", content_type="text/html")
        try:
            root = etree.fromstring(body, _PARSER)
        except etree.XMLSyntaxError:
            return self._xml(fault("Sender", "ter:WellFormed", "not well-formed XML"), 400)
        found = root.find("s:Body", _NS)
        operation = etree.QName(found[0]).localname if found is not None and len(found) else ""
        if found is not None and len(found) and etree.QName(found[0]).namespace == MEDIA2_NS:
            operation = f"Media2_{operation}"  # same names as Media1's, other answers
        self.operations.append(operation)
        if self.misbehave == "http-401":
            return web.Response(status=401, text="Unauthorized", headers={"WWW-Authenticate": 'Digest realm="cam"'})
        if operation not in _OPEN_OPS and not self._authorized(root):
            return self._xml(fault("Sender", "ter:NotAuthorized", "Sender not Authorized"), 400)
        if self.misbehave == "fault":
            return self._xml(fault("Receiver", "ter:ActionNotSupported", "Optional Action Not Implemented"), 500)
        if self.misbehave == "malformed":
            return self._xml(_ENVELOPE.format(body="<tds:GetDeviceInformationResponse><tds:Manufacturer>")[:-30], 200)
        if self.misbehave == "bomb":
            return self._xml(_BOMB, 200)
        answer = self._answer(operation, found[0] if found is not None and len(found) else None,
                              self.service_base or f"http://{request.host}")
        if answer is None:
            return self._xml(fault("Receiver", "ter:ActionNotSupported", "Optional Action Not Implemented"), 500)
        return self._xml(_ENVELOPE.format(body=answer), 200)

    @staticmethod
    def _xml(text: str, status: int) -> web.Response:
        return web.Response(body=text.encode(), status=status, content_type="application/soap+xml", charset="utf-8")

    def _authorized(self, root: etree._Element) -> bool:
        if self.username is None:
            return True
        token = root.find("s:Header/wsse:Security/wsse:UsernameToken", _NS)
        if token is None:
            return False
        user = token.findtext("wsse:Username", None, _NS)
        digest = token.findtext("wsse:Password", None, _NS)
        nonce = token.findtext("wsse:Nonce", None, _NS)
        created = token.findtext("wsu:Created", None, _NS)
        if user != self.username or not digest or not nonce or not created:
            return False
        try:  # like cameras: a token created too far from the device's own clock is refused
            made = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            return False
        device_now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.clock_offset_s)
        if abs((made - device_now).total_seconds()) > self.max_token_age_s:
            return False
        try:
            raw_nonce = base64.b64decode(nonce)
        except ValueError:
            return False
        expected = base64.b64encode(hashlib.sha1(raw_nonce  # noqa: S324 - WS-UsernameToken digests are SHA-1
                                                  + created.encode() + (self.password or "").encode())
                                    .digest()).decode()
        return bool(expected == digest.strip())

    def _answer(self, operation: str, request: etree._Element | None, base: str) -> str | None:
        if operation == "GetSystemDateAndTime":
            now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.clock_offset_s)
            return ("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
                    "<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
                    f"<tt:UTCDateTime><tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute>"
                    f"<tt:Second>{now.second}</tt:Second></tt:Time><tt:Date><tt:Year>{now.year}</tt:Year>"
                    f"<tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date></tt:UTCDateTime>"
                    "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>")
        token = ""
        if request is not None:
            token = next((e.text or "" for e in request.iter() if etree.QName(e).localname == "ProfileToken"), "")
        if operation in ("Media2_GetStreamUri", "Media2_GetSnapshotUri") and self.vendor == "hikvision" \
                and not self.media2_broken:
            uri = self.streams.get(token) if operation.endswith("StreamUri") else f"{base}/snapshot/{token}.jpg"
            if uri is None:
                return None
            tag = operation.removeprefix("Media2_") + "Response"
            return f"<tr2:{tag}><tr2:Uri>{_escape(uri)}</tr2:Uri></tr2:{tag}>"
        if operation == "GetStreamUri":
            uri = self.streams.get(token)
            if uri is None:
                return None
            return (f"<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>{_escape(uri)}</tt:Uri><tt:InvalidAfterConnect>"
                    "false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>"
                    "PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>")
        if operation == "GetSnapshotUri":
            if self.vendor == "mobotix":
                return None  # answered with ActionNotSupported: the probe takes the JPEG from the stream
            return (f"<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>{base}/snapshot/{_escape(token)}.jpg</tt:Uri>"
                    "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false"
                    "</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>")
        if operation.startswith("Media2_") and self.media2_broken:
            return None
        path = FIXTURES / self.vendor / f"{operation}.xml"
        if not re.fullmatch(r"[A-Za-z0-9_]+", operation) or not path.is_file():
            return None
        return path.read_text().strip().replace("{{base}}", base)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def start_device(device: OnvifDevice, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Serve `device` on host:port (0: any free port); returns the runner (cleanup() stops it) and the port."""
    runner = web.AppRunner(device.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None
    return runner, int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
