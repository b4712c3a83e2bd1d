"""Whether this process runs in the test network namespace that .ci/test sets up.

WebRTC's ICE needs an address its peers can reach; aioice never offers 127.0.0.1. .ci/test
runs the suite in a fresh network namespace holding only `lo`, with 127.0.0.2 added, so that
every candidate (and every packet) stays on loopback inside it."""

from __future__ import annotations

import ipaddress

import pytest
from aioice.ice import get_host_addresses


def in_test_namespace() -> bool:
    addresses = get_host_addresses(use_ipv4=True, use_ipv6=False)
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


requires_test_namespace = pytest.mark.skipif(
    not in_test_namespace(),
    reason="WebRTC tests need the loopback-only network namespace: run them through bash .ci/test",
)
