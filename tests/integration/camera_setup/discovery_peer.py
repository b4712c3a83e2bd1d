"""Run inside a fresh network namespace whose loopback carries multicast (test_discover.py starts
it): WS-Discovery responders (the wsdiscovery package's own publisher and vigil's simulated one)
and one discovery, printed as JSON."""

from __future__ import annotations

import asyncio
import json
import sys

from wsdiscovery.publishing import ThreadedWSPublishing
from wsdiscovery.qname import QName
from wsdiscovery.scope import Scope

from vigil.camera_setup.discover import discover
from vigil.core.probe_networks import parse_networks
from vigil.sim.wsd_responder import Announced, start_responder

NVT = QName("http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter", "dn")


async def main(networks: list[str]) -> None:
    publisher = ThreadedWSPublishing()
    publisher.start()
    publisher.publishService([NVT], [Scope("onvif://www.onvif.org/name/Published%20Camera"),
                                     Scope("onvif://www.onvif.org/hardware/PUB-1")],
                             ["http://127.0.0.1:8999/onvif/device_service"])
    transport, _ = await start_responder([
        Announced("http://0.0.0.0:8080/onvif/device_service", ("onvif://www.onvif.org/name/AXIS%20P3245-V",
                                                               "onvif://www.onvif.org/hardware/P3245-V")),
        Announced("http://127.0.0.1:631/ipp", ("onvif://www.onvif.org/name/printer",), onvif=False),
    ])
    try:
        found = await discover(1.5, 3702, parse_networks(networks))
    finally:
        transport.close()
        publisher.stop()
    print(json.dumps([{"address": d.address, "xaddr": d.xaddr, "name": d.name, "hardware": d.hardware}
                      for d in found]))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
