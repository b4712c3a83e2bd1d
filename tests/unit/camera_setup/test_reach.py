"""Resolving once and checking every address (camera_setup/reach.py), names included."""

from __future__ import annotations

import pytest

from vigil.camera_setup.reach import check_camera_url, pin_url, resolve_allowed
from vigil.core.errors import AddressNotAllowedError, UnreachableError
from vigil.core.probe_networks import DEFAULT_PROBE_NETWORKS, parse_networks

DEFAULT = parse_networks(DEFAULT_PROBE_NETWORKS)
LOOPBACK = parse_networks(["127.0.0.0/8"])


async def test_names_are_resolved_and_every_address_checked() -> None:
    assert await resolve_allowed("localhost", LOOPBACK) == "127.0.0.1"
    with pytest.raises(AddressNotAllowedError, match=r"localhost \(127\.0\.0\.1\)"):
        await resolve_allowed("localhost", DEFAULT)
    with pytest.raises(UnreachableError):
        await resolve_allowed("no-such-host.invalid", DEFAULT)


async def test_urls_are_pinned_to_the_checked_address_without_credentials() -> None:
    assert await pin_url("rtsp://u:p@localhost:554/s?x=1", LOOPBACK) == "rtsp://127.0.0.1:554/s?x=1"
    with pytest.raises(AddressNotAllowedError):
        await check_camera_url("rtsp://127.0.0.1/s", DEFAULT)
    await check_camera_url("rtsp://10.0.0.5/s", DEFAULT)
    with pytest.raises(UnreachableError):
        await check_camera_url("not a url", DEFAULT)
