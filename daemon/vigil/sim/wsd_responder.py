"""A WS-Discovery responder for simulated ONVIF devices (tests, bench, demo): joins the multicast
group on one interface address and answers Probes for `dn:NetworkVideoTransmitter` with a
ProbeMatch per device, built with the `wsdiscovery` package's message layer. XAddrs may say
`0.0.0.0` (as some cameras do) to exercise the discoverer's fix."""

from __future__ import annotations

import asyncio
import socket
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any

from wsdiscovery.actions.probematch import constructProbeMatch, createProbeMatchMessage
from wsdiscovery.message import parseSOAPMessage
from wsdiscovery.namespaces import NS_ACTION_PROBE
from wsdiscovery.qname import QName
from wsdiscovery.scope import Scope
from wsdiscovery.service import Service

NVT = QName("http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter", "dn")
DEVICE = QName("http://www.onvif.org/ver10/device/wsdl", "Device", "tds")


@dataclass
class Announced:
    xaddr: str
    scopes: tuple[str, ...]
    onvif: bool = True  # False: a WS-Discovery service that is not a camera (a printer)
    epr: str = field(default_factory=lambda: uuid.uuid4().urn)


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, devices: list[Announced]) -> None:
        self.devices = devices
        self.transport: asyncio.DatagramTransport | None = None
        self.probes_seen = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's transport

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        env = parseSOAPMessage(data, addr[0])
        if env is None or env.getAction() != NS_ACTION_PROBE or self.transport is None:
            return
        self.probes_seen += 1
        for device in self.devices:
            types = [NVT, DEVICE] if device.onvif else [QName("http://example.com/printer", "Printer", "p")]
            service = Service(types, [Scope(s) for s in device.scopes], [device.xaddr], device.epr, 0)
            answer = createProbeMatchMessage(constructProbeMatch([service], env.getMessageId()))
            self.transport.sendto(answer.encode() if isinstance(answer, str) else answer, addr)


async def start_responder(devices: list[Announced], interface: str = "127.0.0.1", port: int = 3702,
                          group: str = "239.255.255.250") -> tuple[asyncio.DatagramTransport, _Responder]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("", port))
    membership = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(interface))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: _Responder(devices), sock=sock)
    return transport, protocol
