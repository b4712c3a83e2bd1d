"""Which addresses camera setup may reach (the SSRF policy), and what an installer typed.

Pure. A probe, a scan or a saved camera URL names a host; the caller resolves it (every address it
resolves to) and asks `check_addresses`: all of them must lie inside `probe_networks`, or nothing
is sent. The caller then connects to the address it checked, never to the name again, so a name
that resolves differently the second time (DNS rebinding) cannot lead elsewhere.

Defaults: the private ranges where cameras live (RFC 1918, link-local, IPv6 unique-local and
link-local). Loopback, the appliance itself, is reachable only when listed (the demo and the
tests list 127.0.0.0/8): a probe of 127.0.0.1:8443 would otherwise let an installer make the
daemon talk to its own services. Unspecified, multicast and broadcast addresses are never
reachable, whatever is listed."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from vigil.core.errors import AddressNotAllowedError, BadRequestError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_PROBE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7",
                          "fe80::/10")
MAX_SCAN_ADDRESSES = 256  # a /24: the scan's address x port product is bounded by MAX_SCAN_TARGETS
MAX_SCAN_TARGETS = 256 * 3
MAX_PORTS = 8
DEFAULT_SCAN_PORTS = (80, 8080, 8000)


def parse_networks(texts: tuple[str, ...] | list[str]) -> tuple[IPNetwork, ...]:
    """CIDR strings to networks; ValueError names the first bad one."""
    out = []
    for text in texts:
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not a network in CIDR form (e.g. 10.0.0.0/8)") from None
    return tuple(out)


def _plain(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address


def address_allowed(address: IPAddress, networks: tuple[IPNetwork, ...]) -> str | None:
    """None when the address may be reached; else why not (for the 403's detail)."""
    plain = _plain(address)
    if plain.is_unspecified or plain.is_multicast or str(plain) == "255.255.255.255":
        return f"{plain} is not a device address"
    if any(plain.version == n.version and plain in n for n in networks):
        return None
    listed = ", ".join(str(n) for n in networks) or "none"
    return (f"{plain} is outside the networks camera setup may reach ([camera_setup] probe_networks: {listed});"
            " an administrator can add the camera network there")


def check_addresses(host: str, addresses: tuple[str, ...], networks: tuple[IPNetwork, ...]) -> IPAddress:
    """Every resolved address must be allowed; returns the first, the one to connect to."""
    if not addresses:
        raise BadRequestError(f"{host} does not resolve to any address")
    parsed = [_plain(ipaddress.ip_address(a.split("%", 1)[0])) for a in addresses]
    for address in parsed:
        why = address_allowed(address, networks)
        if why is not None:
            shown = host if host == str(address) else f"{host} ({address})"
            raise AddressNotAllowedError(why.replace(str(address), shown, 1))
    return parsed[0]


@dataclass(frozen=True)
class HostPort:
    host: str  # a name or an address literal (no brackets)
    port: int | None


def parse_host_port(text: str) -> HostPort:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 literal."""
    text = text.strip()
    if not text or len(text) > 255 or any(c.isspace() or c in "/@?#\\" for c in text):
        raise BadRequestError(f"{text[:80]!r} is not a host or host:port")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise BadRequestError(f"{text!r}: expected [IPv6]:port")
        return HostPort(host, _port(rest[1:]) if rest else None)
    if text.count(":") > 1:  # a bare IPv6 literal
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise BadRequestError(f"{text!r} is not a host or host:port") from None
        return HostPort(text, None)
    host, sep, port = text.partition(":")
    if not host:
        raise BadRequestError(f"{text!r}: the host is missing")
    return HostPort(host, _port(port) if sep else None)


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise BadRequestError(f"{text!r} is not a port (1-65535)")
    return int(text)


def parse_scan_range(text: str) -> tuple[str, ...]:
    """An installer's range: `10.0.0.10-10.0.0.40`, `10.0.0.10-40`, `10.0.0.0/28` or one address.

    At most MAX_SCAN_ADDRESSES addresses; a network's network and broadcast addresses are left
    out (IPv4 prefixes up to /30). Names are not ranges: a single host is probed, not scanned."""
    text = text.strip()
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            if network.num_addresses > MAX_SCAN_ADDRESSES + 2:
                raise BadRequestError(f"{text}: {network.num_addresses} addresses; a scan covers at most"
                                      f" {MAX_SCAN_ADDRESSES} (a /24)")
            hosts = list(network.hosts()) if network.num_addresses > 2 else list(network)
            return tuple(str(h) for h in hosts)
        if "-" in text:
            first_text, _, last_text = text.partition("-")
            first = ipaddress.ip_address(first_text.strip())
            last_text = last_text.strip()
            if last_text.isascii() and last_text.isdigit() and isinstance(first, ipaddress.IPv4Address):  # 10.0.0.10-40
                last: IPAddress = ipaddress.IPv4Address(f"{str(first).rsplit('.', 1)[0]}.{int(last_text)}")
            else:
                last = ipaddress.ip_address(last_text)
            if first.version != last.version or int(last) < int(first):
                raise BadRequestError(f"{text}: the range must go up, within one address family")
            count = int(last) - int(first) + 1
            if count > MAX_SCAN_ADDRESSES:
                raise BadRequestError(f"{text}: {count} addresses; a scan covers at most {MAX_SCAN_ADDRESSES}")
            return tuple(str(ipaddress.ip_address(int(first) + i)) for i in range(count))
        return (str(ipaddress.ip_address(text)),)
    except ValueError as error:
        raise BadRequestError(f"{text[:80]!r} is not an address range ({error}); e.g. 10.0.0.10-10.0.0.40,"
                              " 10.0.0.0/28 or 10.0.0.12") from None


def scan_ports(ports: list[int] | tuple[int, ...] | None) -> tuple[int, ...]:
    if ports is None:
        return DEFAULT_SCAN_PORTS
    if not ports or len(ports) > MAX_PORTS:
        raise BadRequestError(f"ports: give 1 to {MAX_PORTS} ports")
    if any(isinstance(p, bool) or not isinstance(p, int) or not 0 < p < 65536 for p in ports):
        raise BadRequestError("ports: each must be a whole number 1-65535")
    return tuple(dict.fromkeys(ports))


def scan_targets(range_text: str, ports: list[int] | tuple[int, ...] | None,
                 networks: tuple[IPNetwork, ...]) -> tuple[tuple[str, int], ...]:
    """(address, port) pairs to try, each address checked against the policy first."""
    addresses, chosen = parse_scan_range(range_text), scan_ports(ports)
    for address in addresses:
        check_addresses(address, (address,), networks)
    if len(addresses) * len(chosen) > MAX_SCAN_TARGETS:
        raise BadRequestError(f"{len(addresses)} addresses x {len(chosen)} ports: at most {MAX_SCAN_TARGETS}"
                              " attempts per scan")
    return tuple((a, p) for a in addresses for p in chosen)
