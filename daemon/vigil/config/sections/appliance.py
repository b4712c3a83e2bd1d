"""`[appliance]` (set by `vigil provision`) and `[log]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vigil.config.model import ApplianceConfig, LogConfig
from vigil.config.reader import Reader, id_check

LOG_LEVELS = ("debug", "info", "warning", "error")


def read_appliance(r: Reader, data: Any) -> ApplianceConfig:
    if not isinstance(data, dict):
        if data is not None:
            r.problem("appliance", "expected a table")
        return ApplianceConfig()
    r.table(data, "appliance", {"site_id", "hotplug", "update_keyring"})
    keyring = r.get(data, "appliance", "update_keyring", str, str(ApplianceConfig.update_keyring))
    return ApplianceConfig(site_id=r.get(data, "appliance", "site_id", str, check=id_check),
                           hotplug=r.get(data, "appliance", "hotplug", bool, True), update_keyring=Path(keyring))


def read_log(r: Reader, data: Any) -> LogConfig:
    if not isinstance(data, dict):
        r.problem("log", "expected a table")
        return LogConfig()
    r.table(data, "log", {"level"})
    return LogConfig(level=r.get(data, "log", "level", str, "info",
                                 check=lambda v: None if v in LOG_LEVELS else "must be debug, info, warning or error"))
