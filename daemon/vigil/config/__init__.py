"""The TOML configuration: parsed and validated once, into frozen dataclasses.

Every problem is reported with the file, the key path and what is wrong, all at once, so an
installer fixes a file in one pass. Secrets (camera passwords) never appear in messages.

Layout: `reader` walks the TOML and holds the shared checks; `model` holds the values;
`sections/` reads one family of tables each; `load` puts them together. Import the public names
from here."""

from vigil.config.load import load_config, parse_config
from vigil.config.model import (
    DEFAULT_MIN_FREE_BYTES,
    DEFAULT_SEGMENT_S,
    AccessConfig,
    ApplianceConfig,
    BuildingConfig,
    CameraConfig,
    Config,
    DistrictConfig,
    DoorAdaptersConfig,
    DoorEventsConfig,
    HttpConfig,
    IncidentsConfig,
    LogConfig,
    MqttConfig,
    OnGuardConfig,
    StorageConfig,
    WebrtcConfig,
)
from vigil.config.reader import ID_PATTERN
from vigil.core.door_config import AccessPointConfig, DoorConfig, FlagRulesConfig

__all__ = ["DEFAULT_MIN_FREE_BYTES", "DEFAULT_SEGMENT_S", "ID_PATTERN", "AccessConfig", "AccessPointConfig",
           "ApplianceConfig", "BuildingConfig", "CameraConfig", "Config", "DistrictConfig", "DoorAdaptersConfig",
           "DoorConfig",
           "DoorEventsConfig", "FlagRulesConfig", "HttpConfig", "IncidentsConfig", "LogConfig", "MqttConfig",
           "OnGuardConfig", "StorageConfig", "WebrtcConfig", "load_config", "parse_config"]
