"""`[camera_setup]`: which networks discovery, scans and probes may reach (the SSRF policy,
core/probe_networks.py), how long discovery listens, and the WS-Discovery port."""

from __future__ import annotations

from typing import Any

from vigil.config.model import CameraSetupConfig
from vigil.config.reader import NUMBER, Reader
from vigil.core.probe_networks import parse_networks


def _networks_check(value: Any) -> str | None:
    if not all(isinstance(v, str) for v in value):
        return "must be a list of networks in CIDR form (e.g. \"10.0.0.0/8\")"
    try:
        parse_networks(value)
    except ValueError as error:
        return str(error)
    return None


def read_camera_setup(r: Reader, data: Any) -> CameraSetupConfig:
    if data is None:
        return CameraSetupConfig()
    if not isinstance(data, dict):
        r.problem("camera_setup", "expected a table")
        return CameraSetupConfig()
    r.table(data, "camera_setup", {"probe_networks", "discovery_timeout_s", "wsdiscovery_port", "probe_timeout_s"})
    default = CameraSetupConfig()
    networks = r.get(data, "camera_setup", "probe_networks", list, list(default.probe_networks),
                     check=_networks_check)
    if _networks_check(networks) is not None:
        networks = list(default.probe_networks)
    discovery = r.get(data, "camera_setup", "discovery_timeout_s", NUMBER, default.discovery_timeout_s,
                      check=lambda v: None if 1 <= v <= 10 else "must be 1-10 seconds")
    port = r.get(data, "camera_setup", "wsdiscovery_port", int, default.wsdiscovery_port,
                 check=lambda v: None if 0 < v < 65536 else "must be a port (1-65535)")
    probe = r.get(data, "camera_setup", "probe_timeout_s", NUMBER, default.probe_timeout_s,
                  check=lambda v: None if 0.5 <= v <= 30 else "must be 0.5-30 seconds")
    return CameraSetupConfig(tuple(networks), float(discovery), port, float(probe))
