"""WS-Discovery: one multicast Probe for ONVIF video transmitters, answers gathered for a bounded time.

The `wsdiscovery` package builds the Probe and parses the ProbeMatches (its message layer); its
threaded client is not used: it binds the fixed port 3702, polls its sockets without sleeping and
keeps running threads, where one asyncio datagram socket on an ephemeral port, open for
`timeout_s`, is all a Probe needs (answers come back unicast to the Probe's source port).
The Probe goes out of every local IPv4 address inside probe_networks (IP_MULTICAST_IF; the
default route's interface when none is). Answers are read up to 64 KiB, a DOCTYPE is refused
before minidom sees it, only answers relating to our Probe and naming
`dn:NetworkVideoTransmitter` are kept, and XAddrs announcing 0.0.0.0 are fixed with the
responder's address. Nothing is sent to a responder (that is the probe's job)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from typing import Any

import ifaddr
from wsdiscovery.actions.probe import constructProbe, createProbeMessage
from wsdiscovery.message import parseSOAPMessage
from wsdiscovery.namespaces import NS_ACTION_PROBE_MATCH
from wsdiscovery.qname import QName

from vigil.camera_setup import untrusted_xml
from vigil.camera_setup.model import Device
from vigil.core.onvif_probe import fix_xaddr, parse_scopes, split_url
from vigil.core.probe_networks import IPNetwork, address_allowed

log = logging.getLogger(__name__)

MULTICAST_V4 = "239.255.255.250"
ONVIF_NVT = QName("http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter", "dn")
MAX_DATAGRAM = 65536
MAX_DEVICES = 512
PROBE_REPEATS = 2  # UDP is lossy: the Probe is sent twice, 100 ms apart (SOAP-over-UDP's repeat)


@dataclass
class _Collector(asyncio.DatagramProtocol):
    message_id: str
    answers: list[tuple[bytes, str]] = field(default_factory=list)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if len(self.answers) < MAX_DEVICES * 2:
            self.answers.append((data[:MAX_DATAGRAM], str(addr[0])))

    def error_received(self, exc: Exception) -> None:
        log.debug("discovery socket: %s", exc)


async def discover(timeout_s: float, port: int, networks: tuple[IPNetwork, ...],
                   group: str = MULTICAST_V4) -> tuple[Device, ...]:
    """Devices that answered within `timeout_s`, one per endpoint reference, sorted by address."""
    env = constructProbe([ONVIF_NVT], [])
    message_id = str(env.getMessageId())
    payload = createProbeMessage(env)
    data = payload.encode() if isinstance(payload, str) else payload
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # the local network only
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    sock.bind(("0.0.0.0", 0))  # noqa: S104 - answers come back to any interface
    sock.setblocking(False)
    transport, collector = await loop.create_datagram_endpoint(lambda: _Collector(message_id), sock=sock)
    interfaces = interface_addresses(networks)
    try:
        for i in range(PROBE_REPEATS):
            for interface in interfaces or (None,):
                try:
                    if interface is not None:  # out of each camera-network interface, not only the default route's
                        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
                    transport.sendto(data, (group, port))
                except OSError as error:
                    log.warning("discovery: cannot send the Probe via %s (%s)", interface or "the default route",
                                error)
            if i + 1 < PROBE_REPEATS:
                await asyncio.sleep(0.1)
        await asyncio.sleep(max(0.0, timeout_s - 0.1 * (PROBE_REPEATS - 1)))
    finally:
        transport.close()
    return devices_from(collector.answers, message_id, networks)


def interface_addresses(networks: tuple[IPNetwork, ...]) -> tuple[str, ...]:
    """The appliance's IPv4 addresses inside probe_networks: the Probe goes out of each of them."""
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and address_allowed(ipaddress.ip_address(ip.ip), networks) is None:
                found.append(ip.ip)
    return tuple(dict.fromkeys(found))


def devices_from(answers: list[tuple[bytes, str]], message_id: str,
                 networks: tuple[IPNetwork, ...]) -> tuple[Device, ...]:
    found: dict[str, Device] = {}
    for data, source in answers:
        if untrusted_xml.declares_dtd(data):
            log.info("discovery: an answer from %s declares a DTD; ignored", source)
            continue
        try:
            env = parseSOAPMessage(data, source)
        except Exception:
            env = None
        if env is None or env.getAction() != NS_ACTION_PROBE_MATCH or env.getRelatesTo() != message_id:
            continue
        if address_allowed(ipaddress.ip_address(source), networks) is not None:
            log.info("discovery: %s answered but is outside [camera_setup] probe_networks; not listed", source)
            continue
        for match in env.getProbeResolveMatches():
            types = {(t.getNamespace(), t.getLocalname()) for t in match.getTypes() or ()}
            if (ONVIF_NVT.getNamespace(), ONVIF_NVT.getLocalname()) not in types:
                continue
            xaddrs = [fix_xaddr(x, source) for x in (match.getXAddrs() or ()) if x]
            if not xaddrs:
                continue
            xaddr = next((x for x in xaddrs if (split_url(x) or _NO_URL).host == source), xaddrs[0])
            parsed = split_url(xaddr)
            if parsed is None:
                continue
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
            scopes = tuple(str(s.getValue() if hasattr(s, "getValue") else s) for s in match.getScopes() or ())[:64]
            info = parse_scopes(scopes)
            key = str(match.getEPR() or xaddr)
            found.setdefault(key, Device(f"{host}:{port}", xaddr, info.name, info.hardware, info.manufacturer,
                                         info.hardware, scopes))
    return tuple(sorted(found.values(), key=lambda d: (_sort_key(d.address), d.xaddr)))


class _NoUrl:
    host = ""


_NO_URL = _NoUrl()


def _sort_key(address: str) -> tuple[int, str]:
    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        return (int(ipaddress.ip_address(host)), address)
    except ValueError:
        return (1 << 129, address)
