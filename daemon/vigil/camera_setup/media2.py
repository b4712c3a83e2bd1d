"""ONVIF Media2 (ver20) GetProfiles, GetStreamUri and GetSnapshotUri.

onvif-zeep-async 4.3 ships no Media2 WSDL, so these three requests are built here: a SOAP 1.2
envelope signed by zeep's own WS-UsernameToken (PasswordDigest, as every other request), posted
through the camera's guarded POST (policy check, no redirects, size cap, strict XML check), and
read with a strict parser. Media2 matters because it is where cameras say H.265 (Media1's encoding
enumeration has no H.265; some cameras then announce H.265 streams as H264 there)."""

from __future__ import annotations

import asyncio
from typing import Any

from lxml import etree
from zeep.wsse.username import UsernameToken

from vigil.camera_setup import untrusted_xml
from vigil.camera_setup.onvif_client import GuardedCamera
from vigil.core.errors import MalformedXmlError, OnvifUnauthorizedError, SoapFaultError
from vigil.core.onvif_probe import Profile

MEDIA2_NS = "http://www.onvif.org/ver20/media/wsdl"
SOAP_NS = "http://www.w3.org/2003/05/soap-envelope"
TT_NS = "http://www.onvif.org/ver10/schema"
_AUTH = ("notauthorized", "failedauthentication", "invalidsecurity")


async def _request(camera: GuardedCamera, post: Any, xaddr: str, operation: str, children: list[tuple[str, str]],
                   timeout_s: float) -> etree._Element:
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"s": SOAP_NS, "tr2": MEDIA2_NS})
    etree.SubElement(envelope, f"{{{SOAP_NS}}}Header")
    body = etree.SubElement(envelope, f"{{{SOAP_NS}}}Body")
    op = etree.SubElement(body, f"{{{MEDIA2_NS}}}{operation}")
    for name, text in children:
        etree.SubElement(op, f"{{{MEDIA2_NS}}}{name}").text = text
    if camera.user:
        UsernameToken(camera.user, camera.passwd, use_digest=True).apply(envelope, {})  # type: ignore[no-untyped-call]
    message = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{MEDIA2_NS}/{operation}"'}
    async with asyncio.timeout(timeout_s):
        response, content = await post(xaddr, message, headers)
    try:
        root = untrusted_xml.parse(content)
    except etree.XMLSyntaxError:
        raise MalformedXmlError(f"Media2 {operation}: the answer is not XML") from None
    fault = root.find(f".//{{{SOAP_NS}}}Fault")
    if fault is not None or response.status >= 300:
        text = " ".join(t.strip() for t in (fault.itertext() if fault is not None else ()) if t.strip())
        if response.status == 401 or any(a in text.lower() for a in _AUTH):
            raise OnvifUnauthorizedError(f"Media2 {operation}: the camera refused the ONVIF user name or password")
        raise SoapFaultError(f"Media2 {operation}: {text[:200] or f'HTTP {response.status}'}")
    return root


def _first(element: etree._Element, local: str) -> etree._Element | None:
    return next((e for e in element.iter() if isinstance(e.tag, str) and etree.QName(e).localname == local), None)


def _text(element: etree._Element | None, local: str) -> str | None:
    found = _first(element, local) if element is not None else None
    return (found.text or "").strip() or None if found is not None else None


async def media2_profiles(camera: GuardedCamera, post: Any, xaddr: str,
                          timeout_s: float) -> list[tuple[Profile, str | None, str | None]]:
    """(profile, stream URI, snapshot URI) of each Media2 profile with a video encoder."""
    root = await _request(camera, post, xaddr, "GetProfiles", [("Type", "VideoEncoder")], timeout_s)
    out = []
    for raw in (e for e in root.iter(f"{{{MEDIA2_NS}}}Profiles")):
        token = raw.get("token") or ""
        encoder = _first(raw, "VideoEncoder")
        if not token or encoder is None:
            continue
        resolution = _first(encoder, "Resolution")
        fps_text = _text(encoder, "FrameRateLimit")
        profile = Profile(token, _text(raw, "Name") or token, (encoder.get("Encoding") or _text(encoder, "Encoding")
                                                               or "").upper(),
                          int(_text(resolution, "Width") or 0), int(_text(resolution, "Height") or 0),
                          float(fps_text) if fps_text else None)
        stream = await _request(camera, post, xaddr, "GetStreamUri", [("Protocol", "RtspUnicast"),
                                                                      ("ProfileToken", token)], timeout_s)
        try:
            snapshot: etree._Element | None = await _request(camera, post, xaddr, "GetSnapshotUri",
                                                            [("ProfileToken", token)], timeout_s)
        except SoapFaultError:
            snapshot = None
        out.append((profile, _text(stream, "Uri"), _text(snapshot, "Uri")))
    return out
