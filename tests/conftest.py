"""Shared pytest fixtures for the Vigil test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# ---- simulated cameras (vigil.sim.camera_server via tests/support/camsim.py) -------------------------
from tests.support.camsim import CameraServer, CameraServerFactory


@pytest.fixture
def camera_server() -> Iterator[CameraServerFactory]:
    """Factory: ``camera_server("name=cam1,fps=15", ..., port=0)`` -> a started CameraServer.

    Every server started through it is stopped when the test ends.
    """
    servers: list[CameraServer] = []

    def start(*specs: str, port: int = 0, bind: str = "127.0.0.1") -> CameraServer:
        server = CameraServer(*specs, port=port, bind=bind)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


# ---- end of simulated cameras --------------------------------------------------------------
