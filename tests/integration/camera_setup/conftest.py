"""Simulated RTSP cameras (one open server, one whose stream needs a password) for the probe tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from tests.support.camsim import CameraServer
from vigil.core.probe_networks import IPNetwork, parse_networks
from vigil.sim.onvif_device import OnvifDevice, start_device

LOOPBACK = parse_networks(["127.0.0.0/8"])
# main: H.264 640x360 at 15 fps, GOP 15; sub: H.265 320x180 at 10 fps; bf: H.264 with B-frames
SPECS = ("name=main,width=640,height=360,fps=15,gop=15", "name=sub,width=320,height=180,fps=10,codec=h265",
         "name=bf,width=320,height=180,fps=10,bframes=2")


@pytest.fixture(scope="module")
def cams() -> Iterator[CameraServer]:
    with CameraServer(*SPECS) as server:
        yield server


@pytest.fixture(scope="module")
def locked_cams() -> Iterator[CameraServer]:
    with CameraServer("name=locked,width=320,height=180,fps=10,auth=admin:secret") as server:
        yield server


@dataclass
class Running:
    device: OnvifDevice
    port: int


def streams_for(cams: CameraServer, main: str = "main", sub: str = "sub") -> dict[str, str]:
    """Every vendor fixture's main and sub profile tokens -> the simulated cameras."""
    return {token: cams.url(main) for token in ("profile_1_h264", "MxProfile0", "Profile_1")} | {
        token: cams.url(sub) for token in ("profile_2_h264", "Profile_2")}


@pytest.fixture
async def device_factory() -> AsyncIterator[object]:
    runners = []

    async def start(device: OnvifDevice) -> Running:
        runner, port = await start_device(device)
        runners.append(runner)
        return Running(device, port)

    yield start
    for runner in runners:
        await runner.cleanup()


__all__ = ["LOOPBACK", "IPNetwork", "Running", "streams_for"]
