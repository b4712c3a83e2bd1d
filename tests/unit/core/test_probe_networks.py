"""The probe network policy (SSRF) and what an installer types: addresses, ranges, ports."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.core.errors import AddressNotAllowedError, BadRequestError, http_status
from vigil.core.probe_networks import (
    DEFAULT_PROBE_NETWORKS,
    MAX_SCAN_ADDRESSES,
    check_addresses,
    parse_host_port,
    parse_networks,
    parse_scan_range,
    scan_targets,
)

DEFAULT = parse_networks(DEFAULT_PROBE_NETWORKS)


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.9", "192.168.1.20", "169.254.3.4", "fd00::5", "fe80::1"])
def test_camera_networks_are_reachable_by_default(address: str) -> None:
    assert str(check_addresses(address, (address,), DEFAULT)) == address


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "8.8.8.8", "0.0.0.0", "224.0.0.1", "255.255.255.255",
                                     "::ffff:127.0.0.1", "172.32.0.1", "100.64.0.1"])
def test_loopback_public_and_special_addresses_are_refused_by_default(address: str) -> None:
    with pytest.raises(AddressNotAllowedError) as caught:
        check_addresses(address, (address,), DEFAULT)
    assert http_status(caught.value) == 403 and caught.value.problem_type == "address-not-allowed"
    assert "probe_networks" in str(caught.value) or "not a device address" in str(caught.value)


def test_loopback_only_when_listed() -> None:
    assert str(check_addresses("127.0.0.1", ("127.0.0.1",), parse_networks(["127.0.0.0/8"]))) == "127.0.0.1"
    assert str(check_addresses("::ffff:127.0.0.1", ("::ffff:127.0.0.1",), parse_networks(["127.0.0.0/8"]))) \
        == "127.0.0.1"


def test_every_resolved_address_must_be_allowed() -> None:
    """A name that resolves to a camera and to the appliance itself is refused (DNS games)."""
    with pytest.raises(AddressNotAllowedError, match=r"cam\.local \(127\.0\.0\.1\)"):
        check_addresses("cam.local", ("10.0.0.5", "127.0.0.1"), DEFAULT)
    assert str(check_addresses("cam.local", ("10.0.0.5", "10.0.0.6"), DEFAULT)) == "10.0.0.5"


def test_no_address_is_a_bad_request() -> None:
    with pytest.raises(BadRequestError):
        check_addresses("nowhere", (), DEFAULT)


@pytest.mark.parametrize(("text", "host", "port"), [
    ("10.0.0.5", "10.0.0.5", None), ("10.0.0.5:8080", "10.0.0.5", 8080), ("[fe80::1]:80", "fe80::1", 80),
    ("fe80::1", "fe80::1", None), ("cam-1.school.lan", "cam-1.school.lan", None)])
def test_host_port(text: str, host: str, port: int | None) -> None:
    parsed = parse_host_port(text)
    assert (parsed.host, parsed.port) == (host, port)


@pytest.mark.parametrize("text", ["", "10.0.0.5:0", "10.0.0.5:70000", "http://10.0.0.5", "a b", "u@10.0.0.5",
                                  "[fe80::1", ":80", "10.0.0.5:x",
                                  "10.0.0.5:²"])  # a digit to str.isdigit, not to int()
def test_bad_host_port(text: str) -> None:
    with pytest.raises(BadRequestError):
        parse_host_port(text)


def test_ranges() -> None:
    assert parse_scan_range("10.0.0.10-10.0.0.12") == ("10.0.0.10", "10.0.0.11", "10.0.0.12")
    assert parse_scan_range("10.0.0.10-12") == ("10.0.0.10", "10.0.0.11", "10.0.0.12")
    assert parse_scan_range("10.0.0.0/30") == ("10.0.0.1", "10.0.0.2")
    assert parse_scan_range("10.0.0.7") == ("10.0.0.7",)
    assert len(parse_scan_range("10.0.0.0/24")) == 254
    for bad in ("10.0.0.0/16", "10.0.0.12-10.0.0.10", "10.0.0.1-fe80::1", "cam.lan", "10.0.0.0-10.0.2.0", "10.0.0.1-²"):
        with pytest.raises(BadRequestError):
            parse_scan_range(bad)


@given(st.integers(0, 2**32 - 1), st.integers(0, 600))
def test_any_ipv4_range_is_parsed_exactly_or_refused(first: int, count: int) -> None:
    last = min(first + count, 2**32 - 1)
    text = f"{ipaddress.IPv4Address(first)}-{ipaddress.IPv4Address(last)}"
    if last - first + 1 > MAX_SCAN_ADDRESSES:
        with pytest.raises(BadRequestError):
            parse_scan_range(text)
        return
    got = parse_scan_range(text)
    assert got[0] == str(ipaddress.IPv4Address(first)) and got[-1] == str(ipaddress.IPv4Address(last))
    assert len(got) == last - first + 1


@given(st.text(max_size=40))
def test_any_text_is_a_range_or_a_bad_request(text: str) -> None:
    try:
        got = parse_scan_range(text)
    except BadRequestError:
        return
    assert 1 <= len(got) <= MAX_SCAN_ADDRESSES


def test_scan_targets_check_every_address_before_anything_is_sent() -> None:
    with pytest.raises(AddressNotAllowedError):
        scan_targets("192.167.255.250-192.168.0.5", [80], DEFAULT)  # starts outside 192.168/16
    assert scan_targets("10.0.0.1-2", [80, 8080], DEFAULT) == (("10.0.0.1", 80), ("10.0.0.1", 8080),
                                                               ("10.0.0.2", 80), ("10.0.0.2", 8080))
    for ports in ([], [0], [True], list(range(1, 20))):
        with pytest.raises(BadRequestError):
            scan_targets("10.0.0.1", list(ports), DEFAULT)


@given(st.text(max_size=60))
def test_any_text_is_a_host_port_or_a_bad_request(text: str) -> None:
    try:
        parsed = parse_host_port(text)
    except BadRequestError:
        return
    assert parsed.host and (parsed.port is None or 0 < parsed.port < 65536)
