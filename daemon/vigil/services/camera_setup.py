"""Camera setup use cases: discover, scan, probe. Called by the API and the CLI alike.

Each checks `configure_cameras`, keeps inside `[camera_setup] probe_networks` (the I/O shell in
vigil.camera_setup pins every connection to a checked address) and writes one audit entry, ok or
failed, naming the address and never a credential. At most MAX_PROBES probes and one discovery
or scan run at a time (each probe opens two streams on threads)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import weakref
from dataclasses import dataclass, replace
from typing import Any

from vigil.camera_setup.discover import discover
from vigil.camera_setup.model import Device, ProbeResult
from vigil.camera_setup.probe import ProbeTarget, probe_device
from vigil.camera_setup.scan import scan
from vigil.config import Config
from vigil.core.errors import BadRequestError, CameraSetupError
from vigil.core.onvif_probe import already_recorded, configured_by_host, split_url
from vigil.core.permissions import Action, Target
from vigil.core.probe_networks import IPNetwork, parse_host_port, parse_networks
from vigil.services import audit as audit_service
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv

__all__ = ["Device", "ProbeRequest", "ProbeResult", "device_json", "discover_devices", "parse_probe_request", "probe",
           "probe_json", "scan_devices"]

MAX_PROBES = 2
# per event loop (a semaphore belongs to the loop it first waits on; tests run many loops)
_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, asyncio.Semaphore]] = \
    weakref.WeakKeyDictionary()


def _gates() -> tuple[asyncio.Semaphore, asyncio.Semaphore]:
    """(probes, sweeps): at most MAX_PROBES probes, one discovery or scan at a time."""
    loop = asyncio.get_running_loop()
    if loop not in _GATES:
        _GATES[loop] = (asyncio.Semaphore(MAX_PROBES), asyncio.Semaphore(1))
    return _GATES[loop]


@dataclass(frozen=True)
class ProbeRequest:
    host: str
    port: int
    username: str | None
    password: str | None

    def __repr__(self) -> str:  # never the password, even in a traceback
        return f"ProbeRequest(host={self.host!r}, port={self.port}, username={self.username!r})"


def parse_probe_request(body: dict[str, Any]) -> ProbeRequest:
    """`{xaddr?, address?, username?, password?}`: one of xaddr (http URL) or address (host[:port])."""
    xaddr, address = body.get("xaddr"), body.get("address")
    username, password = body.get("username"), body.get("password")
    for name, value in (("xaddr", xaddr), ("address", address), ("username", username), ("password", password)):
        if value is not None and (not isinstance(value, str) or len(value) > 512):
            raise BadRequestError(f"{name}: expected a string (at most 512 characters)")
    if password is not None and not username:
        raise BadRequestError("password: give the user name too")
    if xaddr:
        url = split_url(xaddr)
        if url is None or url.scheme != "http" or not url.host or url.userinfo:
            # the library always speaks http://host:port/onvif/device_service (ONVIF's fixed path)
            raise BadRequestError("xaddr: expected the device service's http:// URL (without credentials);"
                                  " https device services are not supported")
        host, port = url.host, url.port or 80
    elif address:
        parsed = parse_host_port(address)
        host, port = parsed.host, parsed.port or 80
    else:
        raise BadRequestError("give xaddr (from discovery) or address (host or host:port)")
    return ProbeRequest(host, port, username or None, password or None)


# --- as JSON (the API's answers and the CLI's --json) ---

def device_json(d: Device) -> dict[str, Any]:
    return {"address": d.address, "xaddr": d.xaddr, "name": d.name, "model": d.model,
            "manufacturer": d.manufacturer, "hardware": d.hardware, "scopes": list(d.scopes),
            "configured_camera": d.configured_camera}


def probe_json(r: ProbeResult) -> dict[str, Any]:
    return {
        "device": {"manufacturer": r.device.manufacturer, "model": r.device.model, "firmware": r.device.firmware,
                   "serial": r.device.serial, "hardware": r.device.hardware},
        "clock": {"camera_utc": r.clock.camera_utc, "skew_s": r.clock.skew_s, "warning": r.clock.warning},
        "media2": r.media2, "backchannel": r.backchannel,
        "profiles": [{
            "token": p.token, "name": p.name, "encoding": p.encoding, "width": p.width, "height": p.height,
            "fps": p.fps, "stream_url": p.stream_url, "snapshot_url": p.snapshot_url,
            "received": None if p.received is None else {
                "codec": p.received.codec, "width": p.received.width, "height": p.received.height,
                "fps": p.received.fps, "gop_frames": p.received.gop_frames, "bframes": p.received.bframes},
            "problem": p.problem, "live": {"ok": p.live.ok, "note": p.live.note}} for p in r.profiles],
        "proposal": None if r.proposal is None else {
            "url": r.proposal.url, "substream_url": r.proposal.substream_url, "name": r.proposal.name,
            "username": r.proposal.username, "id": r.proposal.id},
        "snapshot_jpeg_base64": base64.b64encode(r.snapshot_jpeg).decode() if r.snapshot_jpeg else None,
        "warnings": list(r.warnings),
    }


def _networks(config: Config) -> tuple[IPNetwork, ...]:
    return parse_networks(config.camera_setup.probe_networks)


def _mark_configured(config: Config, devices: tuple[Device, ...]) -> tuple[Device, ...]:
    cameras = tuple((c.id, c.url) for c in config.cameras)
    return tuple(replace(d, configured_camera=configured_by_host(cameras, d.address)) for d in devices)


async def discover_devices(env: ServiceEnv, caller: Caller, timeout_s: float | None) -> tuple[Device, ...]:
    await require(env, caller, Action.CONFIGURE_CAMERAS, Target())
    settings = env.config.camera_setup
    wait_s = settings.discovery_timeout_s if timeout_s is None else timeout_s
    if isinstance(wait_s, bool) or not isinstance(wait_s, int | float) or not 1 <= wait_s <= 10:
        raise BadRequestError("timeout_s: 1-10 seconds")
    async with _gates()[1]:
        devices = _mark_configured(env.config, await discover(float(wait_s), settings.wsdiscovery_port,
                                                              _networks(env.config)))
    await audit_service.record(env, caller, "camera_setup.discover", "appliance", "ok",
                               {"timeout_s": wait_s, "found": len(devices)})
    return devices


async def scan_devices(env: ServiceEnv, caller: Caller, range_text: Any, ports: Any) -> tuple[Device, ...]:
    await require(env, caller, Action.CONFIGURE_CAMERAS, Target())
    if not isinstance(range_text, str) or not range_text.strip():
        raise BadRequestError("range: e.g. 10.0.0.10-10.0.0.40, 10.0.0.0/28 or one address")
    if ports is not None and not isinstance(ports, list):
        raise BadRequestError("ports: a list of port numbers")
    detail: dict[str, Any] = {"range": range_text[:100], "ports": ports}
    try:
        async with _gates()[1]:
            devices = _mark_configured(env.config, await scan(range_text, ports, _networks(env.config)))
    except CameraSetupError as error:
        await audit_service.record(env, caller, "camera_setup.scan", "appliance", "failed",
                                   detail | {"error": error.problem_type})
        raise
    await audit_service.record(env, caller, "camera_setup.scan", "appliance", "ok", detail | {"found": len(devices)})
    return devices


async def probe(env: ServiceEnv, caller: Caller, request: ProbeRequest) -> ProbeResult:
    await require(env, caller, Action.CONFIGURE_CAMERAS, Target())
    target = ProbeTarget(request.host, request.port, request.username, request.password)
    detail: dict[str, Any] = {"address": f"{request.host}:{request.port}", "username": request.username}
    try:
        async with _gates()[0]:
            result = await probe_device(target, _networks(env.config), env.config.camera_setup.probe_timeout_s,
                                        lambda: dt.datetime.now(dt.UTC))
    except CameraSetupError as error:
        await audit_service.record(env, caller, "camera_setup.probe", f"device:{request.host}:{request.port}",
                                   "failed", detail | {"error": error.problem_type})
        raise
    await audit_service.record(env, caller, "camera_setup.probe", f"device:{request.host}:{request.port}", "ok",
                               detail | {"profiles": len(result.profiles)})
    cameras = tuple((c.id, c.url, c.substream_url) for c in env.config.cameras)
    twice = already_recorded(tuple(p.stream_url for p in result.profiles if p.stream_url), cameras)
    return replace(result, warnings=result.warnings + twice) if twice else result
