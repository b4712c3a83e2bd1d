"""Discovery answers are untrusted datagrams: only ProbeMatches relating to our Probe, naming an
ONVIF video transmitter, from inside probe_networks, are listed; anything else is dropped quietly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from wsdiscovery.actions.probematch import constructProbeMatch, createProbeMatchMessage
from wsdiscovery.qname import QName
from wsdiscovery.scope import Scope
from wsdiscovery.service import Service

from vigil.camera_setup.discover import ONVIF_NVT, devices_from
from vigil.core.probe_networks import parse_networks

NETS = parse_networks(["10.0.0.0/8"])
PRINTER = QName("http://example.com/printer", "Printer", "p")


def match(relates_to: str, types: list[QName], xaddr: str = "http://0.0.0.0:80/onvif/device_service") -> bytes:
    service = Service(types, [Scope("onvif://www.onvif.org/name/Cam%201")], [xaddr], "urn:uuid:1", 0)
    text = createProbeMatchMessage(constructProbeMatch([service], relates_to))
    return text.encode() if isinstance(text, str) else bytes(text)


def test_only_onvif_answers_to_our_probe_inside_the_networks() -> None:
    answers = [(match("urn:ours", [ONVIF_NVT]), "10.0.0.5"), (match("urn:other", [ONVIF_NVT]), "10.0.0.6"),
               (match("urn:ours", [PRINTER]), "10.0.0.7"), (match("urn:ours", [ONVIF_NVT]), "192.168.1.9")]
    devices = devices_from(answers, "urn:ours", NETS)
    assert [(d.address, d.xaddr, d.name) for d in devices] == [
        ("10.0.0.5:80", "http://10.0.0.5:80/onvif/device_service", "Cam 1")]


def test_a_dtd_is_dropped_unparsed() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + match("urn:ours", [ONVIF_NVT])[21:]
    assert devices_from([(bomb, "10.0.0.5")], "urn:ours", NETS) == ()


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_any_datagram_is_dropped_or_listed(data: bytes) -> None:
    assert devices_from([(data, "10.0.0.5")], "urn:ours", NETS) == ()
