"""What discovery, scans and probes return: plain frozen values (the API turns them into JSON)."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.camera_setup.stream_check import Received


@dataclass(frozen=True)
class Device:
    address: str  # host:port
    xaddr: str
    name: str | None
    model: str | None
    manufacturer: str | None
    hardware: str | None
    scopes: tuple[str, ...]
    configured_camera: str | None = None


@dataclass(frozen=True)
class DeviceInfo:
    manufacturer: str | None
    model: str | None
    firmware: str | None
    serial: str | None
    hardware: str | None


@dataclass(frozen=True)
class Clock:
    camera_utc: str | None  # ISO 8601
    skew_s: float | None
    warning: str | None


@dataclass(frozen=True)
class Live:
    ok: bool
    note: str


@dataclass(frozen=True)
class ProfileReport:
    token: str
    name: str
    encoding: str
    width: int
    height: int
    fps: float | None
    stream_url: str | None  # no credentials
    snapshot_url: str | None
    received: Received | None  # only the proposed streams are opened
    problem: str | None
    live: Live


@dataclass(frozen=True)
class Proposal:
    url: str
    substream_url: str | None
    name: str
    username: str | None
    id: str  # a suggested camera id


@dataclass(frozen=True)
class ProbeResult:
    device: DeviceInfo
    clock: Clock
    media2: bool
    backchannel: bool
    profiles: tuple[ProfileReport, ...]
    proposal: Proposal | None
    snapshot_jpeg: bytes | None
    warnings: tuple[str, ...]
