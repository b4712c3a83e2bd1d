"""`[district]` (issue 17, design/district.md): what this appliance takes from its district hub
(`max_role`, `skew_s`, `max_token_lifetime_s`), its publisher (`publish`, `broker_host`,
`broker_port`, `health_interval_s`), where `vigil district enroll` writes the bridge
(`bridge_conf_path`) and the URL browsers reach it at (`public_url`, default `[http] public_url`).
Enrolment itself is not here: it is the files under `<storage>/keys/district/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vigil.config.model import DistrictConfig
from vigil.config.reader import NUMBER, Reader, between, positive
from vigil.core.district import DISTRICT_ROLES
from vigil.core.permissions import Role

KEYS = {"max_role", "skew_s", "max_token_lifetime_s", "publish", "broker_host", "broker_port", "health_interval_s",
        "bridge_conf_path", "public_url"}
ROLE_NAMES = [r.value for r in DISTRICT_ROLES]


def _role(value: str) -> str | None:
    return None if value in ROLE_NAMES else f"must be one of {ROLE_NAMES}"


def _url(value: str) -> str | None:
    return None if value.startswith(("https://", "http://")) else "must be an http(s) URL"


def read_district(r: Reader, data: Any) -> DistrictConfig:
    if data is None:
        return DistrictConfig()
    if not isinstance(data, dict):
        r.problem("district", "expected a table")
        return DistrictConfig()
    r.table(data, "district", KEYS)
    d = DistrictConfig()
    role = r.get(data, "district", "max_role", str, d.max_role.value, check=_role)
    bridge = r.get(data, "district", "bridge_conf_path", str, str(d.bridge_conf_path),
                   check=lambda v: None if Path(v).is_absolute() else "must be an absolute path")
    public_url = r.get(data, "district", "public_url", str, check=_url)
    return DistrictConfig(
        max_role=Role(role),
        skew_s=float(r.get(data, "district", "skew_s", NUMBER, d.skew_s, check=between(0, 3600, "s"))),
        max_token_lifetime_s=float(r.get(data, "district", "max_token_lifetime_s", NUMBER, d.max_token_lifetime_s,
                                         check=between(10, 3600, "s"))),
        publish=r.get(data, "district", "publish", bool, d.publish),
        broker_host=r.get(data, "district", "broker_host", str, d.broker_host,
                          check=lambda v: None if v and " " not in v else "must be a host name or address"),
        broker_port=r.get(data, "district", "broker_port", int, d.broker_port, check=between(1, 65535)),
        health_interval_s=float(r.get(data, "district", "health_interval_s", NUMBER, d.health_interval_s,
                                      check=positive)),
        bridge_conf_path=Path(bridge),
        public_url=public_url and public_url.rstrip("/"),
    )
