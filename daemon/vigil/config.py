"""The TOML configuration: parsed and validated once, into frozen dataclasses.

Every problem is reported with the file, the key path and what is wrong, all at once, so an
installer fixes a file in one pass. Secrets (camera passwords) never appear in messages.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from vigil.config_doors import DoorConfig, DoorEventsConfig, read_door_events, read_doors
from vigil.config_http import LIMIT_KEYS, read_connection_limits
from vigil.core.conn_limits import ConnectionLimits
from vigil.core.errors import ConfigError
from vigil.core.retention import KEEP_NEWEST_S
from vigil.core.turn import IceServer, ice_servers_for
from vigil.doors.adapter_config import DoorAdaptersConfig, read_door_adapters  # door-event adapters

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_MIN_FREE_BYTES = 1_000_000_000
DEFAULT_SEGMENT_S = 60.0

T = TypeVar("T")


@dataclass(frozen=True)
class StorageConfig:
    path: Path
    recordings_path: Path
    max_bytes: int | None = None
    retain_days: float | None = None
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES
    # Refuse to start unless recordings_path is a mount point (appliances with a recording disk).
    require_mount: bool = False
    segment_duration_s: float = DEFAULT_SEGMENT_S
    retention_interval_s: float = 10.0
    # Each camera's newest footage that max_bytes/min_free_bytes never delete (core/retention.py).
    keep_newest_s: float = KEEP_NEWEST_S

    @property
    def index_path(self) -> Path:
        return self.path / "index.sqlite3"


@dataclass(frozen=True)
class BuildingConfig:
    id: str
    name: str


@dataclass(frozen=True)
class CameraConfig:
    id: str
    building: str
    name: str
    url: str
    substream_url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    transport: str = "tcp"
    timeout_s: float = 5.0
    enabled: bool = True
    motion: str = "auto"  # auto (substream if any, else keyframes), substream, keyframes, off
    motion_sensitivity: float = 0.5
    motion_mask: tuple[tuple[float, float, float, float], ...] = ()  # x0, y0, x1, y1 fractions to ignore

    @property
    def motion_mode(self) -> str:
        if self.motion == "auto":
            return "substream" if self.substream_url else "keyframes"
        return self.motion

    def __repr__(self) -> str:  # never show the password
        return f"CameraConfig(id={self.id!r}, url={self.url!r})"


@dataclass(frozen=True)
class LogConfig:
    level: str = "info"


@dataclass(frozen=True)
class HttpConfig:
    host: str = "0.0.0.0"  # noqa: S104 (the appliance serves the building's network)
    port: int = 8443
    tls: bool = True
    cert_file: Path | None = None  # both unset: a self-signed certificate is made on first start
    key_file: Path | None = None
    public_url: str | None = None  # how responders reach the box (printed in links)
    max_body_bytes: int = 1_000_000
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)  # caps and timeouts (core.conn_limits)


@dataclass(frozen=True)
class WebrtcConfig:
    ice_servers: tuple[IceServer, ...] = ()  # e.g. STUN; given to browsers and the daemon alike
    turn_urls: tuple[str, ...] = ()  # TURN servers using time-limited credentials from turn_secret
    turn_secret: str | None = field(default=None, repr=False)
    turn_ttl_s: int = 3600
    max_viewers: int = 16  # live sessions on the appliance
    max_viewers_per_credential: int = 4  # live sessions per sign-in, API token or responder link

    def servers_for(self, label: str, now_s: int) -> tuple[IceServer, ...]:
        """The ICE servers for one peer: the static ones plus TURN with fresh credentials."""
        return ice_servers_for(self.ice_servers, self.turn_urls, self.turn_secret, label, now_s, self.turn_ttl_s)


@dataclass(frozen=True)
class AccessConfig:
    session_hours: float = 12.0
    link_default_hours: float = 12.0
    link_max_hours: float = 72.0
    login_max_failures: int = 5
    login_lockout_minutes: float = 15.0


@dataclass(frozen=True)
class ApplianceConfig:
    """Set by `vigil provision` on an appliance (design/appliance.md)."""

    site_id: str | None = None
    hotplug: bool = True  # watch udev for the recording disk and USB cameras


@dataclass(frozen=True)
class Config:
    source: Path
    storage: StorageConfig
    buildings: tuple[BuildingConfig, ...]
    cameras: tuple[CameraConfig, ...]
    log: LogConfig
    http: HttpConfig = HttpConfig()
    access: AccessConfig = AccessConfig()
    webrtc: WebrtcConfig = WebrtcConfig()
    appliance: ApplianceConfig = ApplianceConfig()
    # door events (config_doors.py)
    doors: tuple[DoorConfig, ...] = ()
    door_events: DoorEventsConfig = field(default_factory=DoorEventsConfig)
    door_adapters: DoorAdaptersConfig = field(default_factory=DoorAdaptersConfig)  # door-event adapters (MQTT, OnGuard)

    def building_of(self, camera_id: str) -> str | None:
        return next((c.building for c in self.cameras if c.id == camera_id), None)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never be logged."""
        found = [c.password for c in self.cameras if c.password]
        found += [s.credential for s in self.webrtc.ice_servers if s.credential]
        found += self.door_events.secrets
        found += self.door_adapters.secrets  # door-event adapters
        return tuple(found + ([self.webrtc.turn_secret] if self.webrtc.turn_secret else []))


class _Reader:
    """Walks the parsed TOML, collecting every problem with its key path."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.source}: {key}: {message}")

    def table(self, data: Mapping[str, Any], key: str, allowed: set[str]) -> None:
        for name in data:
            if name not in allowed:
                self.problem(f"{key}.{name}" if key else name, "unknown key")

    def get(
        self,
        data: Mapping[str, Any],
        prefix: str,
        name: str,
        kind: type[T] | tuple[type, ...],
        default: T | None = None,
        *,
        required: bool = False,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        key = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if required:
                self.problem(key, "missing (required)")
            return default
        value = data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are not numbers here.
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.problem(key, f"expected {wanted}, got {_TYPE_NAMES.get(type(value), type(value).__name__)}")
            return default
        if check is not None:
            message = check(value)
            if message:
                self.problem(key, message)
                return default
        return value


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true/false", list: "a list",
               dict: "a table"}


def _id_check(value: str) -> str | None:
    if ID_PATTERN.match(value):
        return None
    return f"{value!r} is not a valid id (lowercase letters, digits, '-', '_'; at most 63)"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _not_negative(value: float) -> str | None:
    return None if value >= 0 else "must not be negative"


def _rtsp_url_check(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as error:
        return f"not a valid URL ({error})"
    if parts.scheme not in ("rtsp", "rtsps"):
        return "must be an rtsp:// or rtsps:// URL"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not contain credentials; put them in 'username' and 'password'"
    if not parts.hostname:
        return "has no host"
    return None


def _level_check(value: str) -> str | None:
    return None if value in ("debug", "info", "warning", "error") else "must be debug, info, warning or error"


def _read_storage(r: _Reader, data: Any) -> StorageConfig:
    if not isinstance(data, dict):
        r.problem("storage", "missing [storage] table" if data is None else "expected a table")
        return StorageConfig(path=Path(), recordings_path=Path())
    allowed = {"path", "recordings_path", "max_bytes", "retain_days", "min_free_bytes", "require_mount",
               "segment_duration_s", "retention_interval_s", "keep_newest_s"}
    r.table(data, "storage", allowed)
    path = Path(r.get(data, "storage", "path", str, ".", required=True))
    if not path.is_absolute():
        path = (r.source.parent / path).resolve()
    recordings = r.get(data, "storage", "recordings_path", str)
    recordings_path = path / "recordings" if recordings is None else Path(recordings)
    if not recordings_path.is_absolute():
        recordings_path = (r.source.parent / recordings_path).resolve()
    max_bytes = r.get(data, "storage", "max_bytes", int, check=_positive)
    retain_days = r.get(data, "storage", "retain_days", (int, float), check=_positive)
    return StorageConfig(
        path=path,
        recordings_path=recordings_path,
        max_bytes=max_bytes,
        retain_days=None if retain_days is None else float(retain_days),
        min_free_bytes=r.get(data, "storage", "min_free_bytes", int, DEFAULT_MIN_FREE_BYTES, check=_not_negative),
        require_mount=r.get(data, "storage", "require_mount", bool, False),
        segment_duration_s=float(
            r.get(data, "storage", "segment_duration_s", (int, float), DEFAULT_SEGMENT_S,
                  check=lambda v: None if 2 <= v <= 600 else "must be between 2 and 600 seconds")
        ),
        retention_interval_s=float(
            r.get(data, "storage", "retention_interval_s", (int, float), 10.0,
                  check=lambda v: None if 1 <= v <= 3600 else "must be between 1 and 3600 seconds")
        ),
        keep_newest_s=float(
            r.get(data, "storage", "keep_newest_s", (int, float), KEEP_NEWEST_S,
                  check=lambda v: None if 0 <= v <= 86_400 else "must be between 0 and 86400 seconds")
        ),
    )


def _read_list(r: _Reader, raw: dict[str, Any], name: str) -> list[tuple[str, dict[str, Any]]]:
    items = raw.get(name, [])
    if not isinstance(items, list):
        r.problem(name, f"expected [[{name}]] tables")
        return []
    out = []
    for i, item in enumerate(items):
        key = f"{name}[{i}]"
        if not isinstance(item, dict):
            r.problem(key, "expected a table")
            continue
        out.append((key, item))
    return out


def _read_rects(r: _Reader, item: dict[str, Any], key: str) -> list[tuple[float, float, float, float]]:
    raw = item.get("motion_mask", [])
    rects: list[tuple[float, float, float, float]] = []
    if not isinstance(raw, list):
        r.problem(key, "expected a list of [x0, y0, x1, y1] rectangles")
        return rects
    for i, rect in enumerate(raw):
        ok = (isinstance(rect, list) and len(rect) == 4
              and all(isinstance(v, int | float) and not isinstance(v, bool) for v in rect))
        if not ok or not (0 <= rect[0] < rect[2] <= 1 and 0 <= rect[1] < rect[3] <= 1):
            r.problem(f"{key}[{i}]", "expected [x0, y0, x1, y1] with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1")
            continue
        rects.append((float(rect[0]), float(rect[1]), float(rect[2]), float(rect[3])))
    return rects


def _read_cameras(r: _Reader, raw: dict[str, Any], building_ids: set[str]) -> tuple[CameraConfig, ...]:
    allowed = {"id", "building", "name", "url", "substream_url", "username", "password", "transport", "timeout_s",
               "enabled", "motion", "motion_sensitivity", "motion_mask"}
    cameras: list[CameraConfig] = []
    seen: set[str] = set()
    for key, item in _read_list(r, raw, "cameras"):
        r.table(item, key, allowed)
        camera_id = r.get(item, key, "id", str, required=True, check=_id_check)
        building = r.get(item, key, "building", str, required=True)
        if building is not None and building not in building_ids:
            r.problem(f"{key}.building", f"{building!r} is not a building id declared in [[buildings]]")
        if camera_id is not None:
            if camera_id in seen:
                r.problem(f"{key}.id", f"duplicate camera id {camera_id!r}")
            seen.add(camera_id)
        username = r.get(item, key, "username", str)
        password = r.get(item, key, "password", str)
        if (username is None) != (password is None):
            r.problem(key, "set both 'username' and 'password', or neither")
        camera = CameraConfig(
            id=camera_id or "",
            building=building or "",
            name=r.get(item, key, "name", str, camera_id or ""),
            url=r.get(item, key, "url", str, "", required=True, check=_rtsp_url_check),
            substream_url=r.get(item, key, "substream_url", str, check=_rtsp_url_check),
            username=username,
            password=password,
            transport=r.get(item, key, "transport", str, "tcp",
                            check=lambda v: None if v in ("tcp", "udp") else "must be 'tcp' or 'udp'"),
            timeout_s=float(r.get(item, key, "timeout_s", (int, float), 5.0, check=_positive)),
            enabled=r.get(item, key, "enabled", bool, True),
            motion=r.get(item, key, "motion", str, "auto",
                         check=lambda v: None if v in ("auto", "substream", "keyframes", "off")
                         else "must be auto, substream, keyframes or off"),
            motion_sensitivity=float(r.get(item, key, "motion_sensitivity", (int, float), 0.5,
                                           check=lambda v: None if 0 <= v <= 1 else "must be between 0 and 1")),
            motion_mask=tuple(_read_rects(r, item, f"{key}.motion_mask")),
        )
        if camera.motion == "substream" and camera.substream_url is None:
            r.problem(f"{key}.motion", "substream mode needs substream_url")
        cameras.append(camera)
    return tuple(cameras)


_LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def _read_http(r: _Reader, data: Any) -> HttpConfig:
    if data is None:
        return HttpConfig()
    if not isinstance(data, dict):
        r.problem("http", "expected a table")
        return HttpConfig()
    r.table(data, "http", {"listen", "tls", "cert_file", "key_file", "public_url", "max_body_bytes"} | LIMIT_KEYS)
    host, port = HttpConfig.host, HttpConfig.port
    listen = r.get(data, "http", "listen", str)
    if listen is not None:
        head, sep, tail = listen.rpartition(":")
        if not sep or not (tail.isascii() and tail.isdigit()) or not 0 <= int(tail) < 65536:  # 0: any free port
            r.problem("http.listen", f"{listen!r} is not HOST:PORT")
        else:
            host, port = head.strip("[]") or "0.0.0.0", int(tail)  # noqa: S104
    tls = r.get(data, "http", "tls", bool, True)
    if not tls and host not in _LOOPBACK_HOSTS:
        r.problem("http.tls", "plain HTTP is allowed only on a loopback address (e.g. behind a local proxy)")
    cert, key = r.get(data, "http", "cert_file", str), r.get(data, "http", "key_file", str)
    if (cert is None) != (key is None):
        r.problem("http", "set both cert_file and key_file, or neither (a self-signed certificate is made)")
    public_url = r.get(data, "http", "public_url", str,
                       check=lambda v: None if v.startswith(("https://", "http://")) else "must be an http(s) URL")
    return HttpConfig(host=host, port=port, tls=tls, cert_file=None if cert is None else Path(cert),
                      key_file=None if key is None else Path(key), public_url=public_url and public_url.rstrip("/"),
                      max_body_bytes=r.get(data, "http", "max_body_bytes", int, 1_000_000, check=_positive),
                      limits=read_connection_limits(r, data))


def _read_access(r: _Reader, data: Any) -> AccessConfig:
    if data is None:
        return AccessConfig()
    if not isinstance(data, dict):
        r.problem("access", "expected a table")
        return AccessConfig()
    r.table(data, "access", {"session_hours", "link_default_hours", "link_max_hours", "login_max_failures",
                             "login_lockout_minutes"})
    number = (int, float)
    access = AccessConfig(
        session_hours=float(r.get(data, "access", "session_hours", number, 12.0, check=_positive)),
        link_default_hours=float(r.get(data, "access", "link_default_hours", number, 12.0, check=_positive)),
        link_max_hours=float(r.get(data, "access", "link_max_hours", number, 72.0, check=_positive)),
        login_max_failures=r.get(data, "access", "login_max_failures", int, 5, check=_positive),
        login_lockout_minutes=float(r.get(data, "access", "login_lockout_minutes", number, 15.0, check=_positive)),
    )
    if access.link_default_hours > access.link_max_hours:
        r.problem("access.link_default_hours", "must not exceed access.link_max_hours")
    return access


def _ice_url_check(value: str) -> str | None:
    return None if value.startswith(("stun:", "turn:", "turns:")) else "must be a stun:, turn: or turns: URL"


def _read_webrtc(r: _Reader, data: Any) -> WebrtcConfig:
    if data is None:
        return WebrtcConfig()
    if not isinstance(data, dict):
        r.problem("webrtc", "expected a table")
        return WebrtcConfig()
    r.table(data, "webrtc", {"ice_servers", "turn_urls", "turn_secret", "turn_ttl_s", "max_viewers",
                                  "max_viewers_per_credential"})
    servers = []
    for i, item in enumerate(r.get(data, "webrtc", "ice_servers", list, [])):
        key = f"webrtc.ice_servers[{i}]"
        if not isinstance(item, dict):
            r.problem(key, "expected a table {urls = [...], username = ..., credential = ...}")
            continue
        r.table(item, key, {"urls", "username", "credential"})
        urls = r.get(item, key, "urls", list, [], required=True)
        bad = [u for u in urls if not isinstance(u, str) or _ice_url_check(u)]
        if bad or not urls:
            r.problem(f"{key}.urls", "must be a non-empty list of stun:/turn:/turns: URLs")
        servers.append(IceServer(tuple(u for u in urls if isinstance(u, str)), r.get(item, key, "username", str),
                                 r.get(item, key, "credential", str)))
    turn_urls = r.get(data, "webrtc", "turn_urls", list, [])
    if any(not isinstance(u, str) or _ice_url_check(u) for u in turn_urls):
        r.problem("webrtc.turn_urls", "must be a list of turn:/turns: URLs")
        turn_urls = []
    secret = r.get(data, "webrtc", "turn_secret", str)
    if turn_urls and not secret:
        r.problem("webrtc.turn_secret", "turn_urls need the TURN server's shared secret")
    max_viewers = r.get(data, "webrtc", "max_viewers", int, 16, check=_positive)
    # Default 4, or max_viewers when that is smaller (one viewer rarely needs more than a few views).
    per_credential = r.get(data, "webrtc", "max_viewers_per_credential", int, min(4, max_viewers), check=_positive)
    if per_credential > max_viewers:
        r.problem("webrtc.max_viewers_per_credential", f"must be at most max_viewers ({max_viewers})")
    return WebrtcConfig(tuple(servers), tuple(turn_urls), secret,
                        r.get(data, "webrtc", "turn_ttl_s", int, 3600, check=_positive), max_viewers, per_credential)


def _read_appliance(r: _Reader, data: Any) -> ApplianceConfig:
    if not isinstance(data, dict):
        if data is not None:
            r.problem("appliance", "expected a table")
        return ApplianceConfig()
    r.table(data, "appliance", {"site_id", "hotplug"})
    return ApplianceConfig(site_id=r.get(data, "appliance", "site_id", str, check=_id_check),
                           hotplug=r.get(data, "appliance", "hotplug", bool, True))


def parse_config(text: str, source: Path) -> Config:
    """Parse and validate TOML text; `source` names the file in messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    r = _Reader(source)
    r.table(raw, "", {"storage", "buildings", "cameras", "log", "http", "access", "webrtc", "appliance",
                      "doors", "door_events", "door_adapters"})
    storage = _read_storage(r, raw.get("storage"))
    buildings: list[BuildingConfig] = []
    for key, item in _read_list(r, raw, "buildings"):
        r.table(item, key, {"id", "name"})
        building_id = r.get(item, key, "id", str, required=True, check=_id_check)
        if building_id in {b.id for b in buildings}:
            r.problem(f"{key}.id", f"duplicate building id {building_id!r}")
        buildings.append(BuildingConfig(id=building_id or "", name=r.get(item, key, "name", str, building_id or "")))
    cameras = _read_cameras(r, raw, {b.id for b in buildings})
    log_raw = raw.get("log", {})
    level = "info"
    if isinstance(log_raw, dict):
        r.table(log_raw, "log", {"level"})
        level = r.get(log_raw, "log", "level", str, "info", check=_level_check)
    else:
        r.problem("log", "expected a table")
    http = _read_http(r, raw.get("http"))
    access = _read_access(r, raw.get("access"))
    webrtc = _read_webrtc(r, raw.get("webrtc"))
    appliance = _read_appliance(r, raw.get("appliance"))
    # door events (config_doors.py)
    doors = read_doors(r, raw, _id_check, {b.id for b in buildings}, {c.id: c.building for c in cameras})
    door_events = read_door_events(r, raw.get("door_events"))
    door_adapters = read_door_adapters(r, raw.get("door_adapters"))  # door-event adapters
    if r.problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(r.problems))
    return Config(source=source, storage=storage, buildings=tuple(buildings), cameras=cameras,
                  log=LogConfig(level=level), http=http, access=access, webrtc=webrtc, appliance=appliance,
                  doors=doors, door_events=door_events, door_adapters=door_adapters)


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read configuration: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse_config(text, path)
