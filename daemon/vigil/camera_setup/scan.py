"""Scan an address range for ONVIF devices: an unauthenticated GetSystemDateAndTime (ONVIF's
"pre-auth" operation, so no password is sent to addresses nobody vouched for) on each host:port,
a bounded number at a time, with a short timeout. Every address is checked against the policy
before the scan starts (core/probe_networks.scan_targets)."""

from __future__ import annotations

import asyncio

import aiohttp
from lxml import etree

from vigil.camera_setup import untrusted_xml
from vigil.camera_setup.model import Device
from vigil.core.probe_networks import IPNetwork, scan_targets

CONCURRENCY = 32
ATTEMPT_TIMEOUT_S = 1.5
MAX_ANSWER_BYTES = 64 * 1024
_BODY = ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
         '<s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>')
_ANSWER = "{http://www.onvif.org/ver10/device/wsdl}GetSystemDateAndTimeResponse"


async def scan(range_text: str, ports: list[int] | None, networks: tuple[IPNetwork, ...]) -> tuple[Device, ...]:
    targets = scan_targets(range_text, ports, networks)  # 400/403 before any packet
    gate = asyncio.Semaphore(CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, force_close=True)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        async def one(address: str, port: int) -> Device | None:
            async with gate:
                return await _attempt(session, address, port)

        found = await asyncio.gather(*(one(a, p) for a, p in targets))
    return tuple(d for d in found if d is not None)


async def _attempt(session: aiohttp.ClientSession, address: str, port: int) -> Device | None:
    host = f"[{address}]" if ":" in address else address
    xaddr = f"http://{host}:{port}/onvif/device_service"
    try:
        async with session.post(xaddr, data=_BODY.encode(), allow_redirects=False,
                                headers={"Content-Type": "application/soap+xml; charset=utf-8"}) as response:
            content = await response.content.read(MAX_ANSWER_BYTES)
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None
    if untrusted_xml.declares_dtd(content) or not content.strip():
        return None
    try:
        root = untrusted_xml.parse(content)
    except etree.XMLSyntaxError:
        return None
    if root.find(f".//{_ANSWER}") is None and response.status not in (400, 401):
        return None
    # A device that refuses the pre-auth call with a SOAP answer (400/401 + envelope) still speaks ONVIF.
    if root.find(f".//{_ANSWER}") is None and "Envelope" not in root.tag:
        return None
    return Device(f"{host}:{port}", xaddr, None, None, None, None, ())
