"""Resolve a host once, check every address against the policy, and use the checked address.

Connecting to the address that was checked (never resolving the name again) is what keeps DNS
rebinding out: a name that answers 10.0.0.5 to the check and 127.0.0.1 to the connect cannot
lead the probe elsewhere."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from vigil.core.errors import UnreachableError
from vigil.core.onvif_probe import Url, split_url
from vigil.core.probe_networks import IPNetwork, check_addresses

RESOLVE_TIMEOUT_S = 3.0


async def resolve_allowed(host: str, networks: tuple[IPNetwork, ...]) -> str:
    """The address to connect to for `host`; AddressNotAllowedError before any packet to it."""
    try:
        literal = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None:
        return str(check_addresses(host, (host,), networks))
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        raise UnreachableError(f"{host}: the name does not resolve") from None
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    return str(check_addresses(host, addresses, networks))


async def pin_url(url: str, networks: tuple[IPNetwork, ...]) -> str:
    """`url` with its host replaced by the checked address (credentials dropped)."""
    parsed = split_url(url)
    if parsed is None or not parsed.host:
        raise UnreachableError(f"{url[:200]!r} is not a URL the appliance can open")
    address = await resolve_allowed(parsed.host, networks)
    return Url(parsed.scheme, None, address, parsed.port, parsed.rest).text()


async def check_camera_url(url: str, networks: tuple[IPNetwork, ...]) -> None:
    """For cameras saved through the API (`[camera_setup] probe_networks` covers saved camera URLs
    too): AddressNotAllowedError when the URL's host resolves outside the networks; UnreachableError
    when it is not a URL or does not resolve. Hand-edited files are not checked (`vigil check`)."""
    await pin_url(url, networks)
