"""The configuration as frozen values: what the sections (vigil.config.sections) read from the TOML.

The door map and the flag rules are core values (core.door_config): the pure door decisions use
them. Secrets (camera, broker and OnGuard passwords, the TURN and webhook secrets) never appear in
a repr; `Config.secrets` lists them for the log scrubber."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.camera_modes import IngestPath, MotionMode, TalkPath, Transport
from vigil.core.conn_limits import ConnectionLimits
from vigil.core.door_config import DoorConfig, FlagRulesConfig
from vigil.core.door_events import DoorEventKind
from vigil.core.door_rules import Severity
from vigil.core.onguard import DEFAULT_VERSION, MAX_PAGE_SIZE
from vigil.core.permissions import Role
from vigil.core.probe_networks import DEFAULT_PROBE_NETWORKS
from vigil.core.retention import KEEP_NEWEST_S
from vigil.core.turn import IceServer, ice_servers_for

DEFAULT_MIN_FREE_BYTES = 1_000_000_000
DEFAULT_SEGMENT_S = 60.0


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
    transport: Transport = Transport.TCP
    timeout_s: float = 5.0
    enabled: bool = True
    motion: MotionMode = MotionMode.AUTO
    motion_sensitivity: float = 0.5
    motion_mask: tuple[tuple[float, float, float, float], ...] = ()  # x0, y0, x1, y1 fractions to ignore
    # Audio (design/intercom.md): recorded only when asked for (audio recording in schools is regulated).
    record_audio: bool = False
    talk: TalkPath = TalkPath.OFF  # push-to-talk through the camera's loudspeaker
    # Where to talk, when not where the video comes from: onvif, the rtsp:// URL whose DESCRIBE offers
    # the backchannel (unset: `url`); vapix, the device's http(s):// base URL (unset: http://<url's
    # host>). Same credentials as the camera.
    talk_url: str | None = None
    ingest: IngestPath = IngestPath.NATIVE  # which RTSP client reads the camera (design/ingest.md)

    @property
    def motion_mode(self) -> MotionMode:
        """The mode in effect: never AUTO (substream if the camera has one, else keyframes)."""
        return self.motion.effective(bool(self.substream_url))

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
    max_viewers_per_credential: int = 16  # live sessions per sign-in or API token (a wall of 16)
    max_viewers_per_link: int = 4  # live sessions per responder link
    # Live streams re-encoded at once (H.265 / B-frame cameras to H.264; one per camera and
    # stream, shared by its viewers): each costs a CPU core's fraction (bench/RESULTS.md).
    max_transcodes: int = 2

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
    # Update bundles must be signed by a certificate chaining to this (design/appliance.md, "Updates").
    update_keyring: Path = Path("/etc/rauc/keyring.pem")


@dataclass(frozen=True)
class DoorEventsConfig:
    store_cardholder: bool = False  # opt-in: names of badge holders are personal data
    raw_max_bytes: int = 4096  # the raw payload is kept up to this size
    skew_alert_s: float = 120.0  # |receive time - device time| above this is alerted (once per source)
    webhook_secret: str | None = field(default=None, repr=False)  # HMAC-SHA256 key for signed webhooks
    signature_max_age_s: float = 300.0  # signed requests older or newer than this are refused
    max_body_bytes: int = 65_536
    # Events whose device time is further than this from the appliance's clock are refused: a
    # week back covers adapter outages and the OnGuard backfill; a few minutes ahead, device clocks.
    occurred_max_past_s: float = 7 * 86_400.0
    occurred_max_future_s: float = 300.0
    rules: FlagRulesConfig = field(default_factory=FlagRulesConfig)

    @property
    def secrets(self) -> tuple[str, ...]:
        return () if self.webhook_secret is None else (self.webhook_secret,)


@dataclass(frozen=True)
class MqttConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    source: str = "mqtt"  # the door-event source name of what arrives here
    client_id: str = "vigil"  # stable: the broker keeps this session's queue while vigil is away
    topic: str = "vigil/door-events/in"  # door-event/v1 JSON, QoS 1 (wildcards allowed)
    out_prefix: str = "vigil"  # publishes <prefix>/status, <prefix>/flagged, <prefix>/health/<source>
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: Path | None = None  # None with tls: the system's trust store
    keepalive_s: int = 30


@dataclass(frozen=True)
class OnGuardConfig:
    url: str  # https://host/api/access/onguard/openaccess
    application_id: str = field(repr=False)
    user: str
    password: str = field(repr=False)
    source: str = "onguard"
    directory: str | None = None
    version: str = DEFAULT_VERSION
    poll_interval_s: float = 5.0
    overlap_s: float = 120.0
    first_lookback_s: float = 3600.0
    max_backfill_s: float = 7 * 86_400.0
    page_size: int = MAX_PAGE_SIZE
    timeout_s: float = 15.0
    time_zone: str = "UTC"  # the OnGuard server's zone, for timestamps logged without an offset
    verify_tls: bool = True
    ca_file: Path | None = None
    kinds: tuple[tuple[str, DoorEventKind], ...] = ()  # site overrides of the description table

    @property
    def server_tz(self) -> dt.tzinfo:
        return dt.UTC if self.time_zone == "UTC" else zoneinfo.ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class DoorAdaptersConfig:
    """The door-event adapters: one MQTT subscription, any number of OnGuard pollers."""

    mqtt: MqttConfig | None = None
    onguard: tuple[OnGuardConfig, ...] = ()

    @property
    def sources(self) -> frozenset[str]:
        """The source names this appliance's own adapters store their events under."""
        return frozenset([o.source for o in self.onguard] + ([] if self.mqtt is None else [self.mqtt.source]))

    @property
    def secrets(self) -> tuple[str, ...]:
        found = [o.password for o in self.onguard] + [o.application_id for o in self.onguard]
        if self.mqtt is not None and self.mqtt.password:
            found.append(self.mqtt.password)
        return tuple(s for s in found if s)


@dataclass(frozen=True)
class CameraSetupConfig:
    """`[camera_setup]`: where discovery, scans and probes may reach (core/probe_networks.py)."""

    probe_networks: tuple[str, ...] = DEFAULT_PROBE_NETWORKS  # CIDRs; loopback only when listed
    discovery_timeout_s: float = 5.0  # how long a WS-Discovery Probe listens for answers
    wsdiscovery_port: int = 3702  # the multicast port (tests move it)
    probe_timeout_s: float = 5.0  # each SOAP request and the stream open


@dataclass(frozen=True)
class IncidentWebhookConfig:
    """A dispatch centre's webhook: POST of the signed JSON body (core/webhook_auth.py's scheme)."""

    name: str
    url: str
    secret: str = field(repr=False)  # HMAC-SHA256 key the receiver verifies with
    timeout_s: float = 5.0


@dataclass(frozen=True)
class IncidentEmailConfig:
    """The district's SMTP relay: one message to every address of `to`."""

    host: str
    sender: str
    to: tuple[str, ...]
    port: int = 25
    starttls: bool = False  # STARTTLS on a plain port (587)
    tls: bool = False  # implicit TLS (465)
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 10.0


@dataclass(frozen=True)
class IncidentMqttConfig:
    """The broker incidents use, with credentials of their own (not the door adapter's): a panic
    button publishes on `declare_topic`; incidents are published on `publish_topic`."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "vigil-incidents"
    declare_topic: str | None = None  # None: no MQTT trigger
    publish_topic: str | None = None  # None: no MQTT delivery
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: Path | None = None
    keepalive_s: int = 30


@dataclass(frozen=True)
class IncidentDoorRuleConfig:
    """Door events that declare an incident at their door's building (off unless the site enables
    it): a flagged event of at least `min_severity` (core.door_rules: duress and a forced open
    right after a denial are critical), or of one of `kinds`."""

    enabled: bool = False
    min_severity: Severity = Severity.CRITICAL
    kinds: tuple[DoorEventKind, ...] = ()


@dataclass(frozen=True)
class IncidentsConfig:
    """`[incidents]` (design/incidents.md)."""

    lookback_s: float = 600.0  # the holds start this long before the declaration
    tail_s: float = 300.0  # and end this long after the end
    link_max_hours: float = 12.0  # the incident's link expires at the end, or this long after the declaration
    delivery_attempts: int = 12  # a delivery is retried with backoff until it has failed this often
    webhooks: tuple[IncidentWebhookConfig, ...] = ()
    email: IncidentEmailConfig | None = None
    mqtt: IncidentMqttConfig | None = None
    door_rule: IncidentDoorRuleConfig = IncidentDoorRuleConfig()

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every outside recipient, as the delivery rows name them."""
        out = [f"webhook:{w.name}" for w in self.webhooks]
        if self.mqtt is not None and self.mqtt.publish_topic is not None:
            out.append("mqtt")
        if self.email is not None:
            out.append("email")
        return tuple(out)

    @property
    def secrets(self) -> tuple[str, ...]:
        found = [w.secret for w in self.webhooks]
        found += [self.email.password] if self.email is not None and self.email.password else []
        found += [self.mqtt.password] if self.mqtt is not None and self.mqtt.password else []
        return tuple(found)


DEFAULT_BRIDGE_CONF = Path("/etc/mosquitto/conf.d/vigil-district.conf")


@dataclass(frozen=True)
class DistrictConfig:
    """`[district]` (design/district.md): what this appliance accepts from the hub it is enrolled
    with, and where its publisher and bridge go. Whether it is enrolled is not configuration: it is
    the files under `<storage>/keys/district/` (`vigil district enroll`)."""

    max_role: Role = Role.DISTRICT_ADMIN  # the highest role a hub token may carry here
    skew_s: float = 60.0  # clock difference tolerated on a hub token's issue and expiry times
    max_token_lifetime_s: float = 900.0  # a longer-lived hub token is refused
    publish: bool = True  # publish events for the district (only when enrolled)
    broker_host: str = "127.0.0.1"  # the appliance's own mosquitto, which the bridge forwards from
    broker_port: int = 1883
    health_interval_s: float = 30.0
    bridge_conf_path: Path = DEFAULT_BRIDGE_CONF
    public_url: str | None = None  # how browsers reach this appliance; None: from [http]


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
    doors: tuple[DoorConfig, ...] = ()
    door_events: DoorEventsConfig = field(default_factory=DoorEventsConfig)
    door_adapters: DoorAdaptersConfig = field(default_factory=DoorAdaptersConfig)  # MQTT, OnGuard
    camera_setup: CameraSetupConfig = CameraSetupConfig()  # discovery and probe (issue 15)
    incidents: IncidentsConfig = IncidentsConfig()  # incident mode (issue 16)
    district: DistrictConfig = DistrictConfig()  # the district hub (issue 17)

    def building_of(self, camera_id: str) -> str | None:
        return next((c.building for c in self.cameras if c.id == camera_id), None)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never be logged."""
        found = [c.password for c in self.cameras if c.password]
        found += [s.credential for s in self.webrtc.ice_servers if s.credential]
        found += self.door_events.secrets
        found += self.door_adapters.secrets
        found += self.incidents.secrets
        return tuple(found + ([self.webrtc.turn_secret] if self.webrtc.turn_secret else []))
