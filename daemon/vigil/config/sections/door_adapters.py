"""`[door_adapters.mqtt]` and `[[door_adapters.onguard]]`: the MQTT adapter and the OnGuard pollers.

Secrets (the broker and OnGuard passwords) come as a value or, better, as `password_file` (read
once at load, trailing newline dropped); they never appear in messages or reprs."""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vigil.config.model import DoorAdaptersConfig, MqttConfig, OnGuardConfig
from vigil.config.reader import ID_PATTERN, NUMBER, Reader, positive
from vigil.core.onguard import DEFAULT_VERSION, MAX_PAGE_SIZE
from vigil.core.onguard_kinds import parse_kind_overrides

SOURCE_PATTERN = ID_PATTERN  # a source name is spelled like an id
TOPIC_CHARS = re.compile(r"^[^\x00#+]+$")
MQTT_KEYS = {"host", "port", "source", "client_id", "topic", "out_prefix", "username", "password", "password_file",
             "tls", "ca_file", "keepalive_s"}
ONGUARD_KEYS = {"source", "url", "application_id", "user", "password", "password_file", "directory", "version",
                "poll_interval_s", "overlap_s", "first_lookback_s", "max_backfill_s", "page_size", "timeout_s",
                "time_zone", "verify_tls", "ca_file", "kinds"}


def _source_check(value: str) -> str | None:
    return None if SOURCE_PATTERN.match(value) else "lowercase letters, digits, '-', '_'; at most 63"


def topic_check(value: str) -> str | None:
    return None if TOPIC_CHARS.match(value.replace("#", "a").replace("+", "a")) else "not a valid MQTT topic filter"


def prefix_check(value: str) -> str | None:
    if TOPIC_CHARS.match(value) and not value.endswith("/"):
        return None
    return "a topic without wildcards or a trailing '/'"


def broker_fields(r: Reader, item: dict[str, Any], key: str, client_id: str) -> dict[str, Any]:
    """The connection to an MQTT broker, as the door adapter and the incidents read it: host,
    port, client_id, username, password (or password_file), tls, ca_file, keepalive_s."""
    ca_file = r.get(item, key, "ca_file", str)
    fields: dict[str, Any] = {
        "host": r.get(item, key, "host", str, "127.0.0.1"),
        "port": r.get(item, key, "port", int, 1883, check=lambda v: None if 0 < v < 65536 else "must be 1..65535"),
        "client_id": r.get(item, key, "client_id", str, client_id,
                           check=lambda v: None if 0 < len(v) <= 23 else "1 to 23 characters (MQTT 3.1.1)"),
        "username": r.get(item, key, "username", str),
        "password": r.secret(item, key, "password"),
        "tls": r.get(item, key, "tls", bool, False),
        "ca_file": None if ca_file is None else Path(ca_file),
        "keepalive_s": r.get(item, key, "keepalive_s", int, 30, check=positive),
    }
    if fields["password"] is not None and fields["username"] is None:
        r.problem(key, "a password needs a username")
    return fields


def _read_mqtt(r: Reader, item: Any) -> MqttConfig | None:
    key = "door_adapters.mqtt"
    if not isinstance(item, dict):
        r.problem(key, "expected a table")
        return None
    r.table(item, key, MQTT_KEYS)
    return MqttConfig(
        source=r.get(item, key, "source", str, "mqtt", check=_source_check),
        topic=r.get(item, key, "topic", str, "vigil/door-events/in", check=topic_check),
        out_prefix=r.get(item, key, "out_prefix", str, "vigil", check=prefix_check),
        **broker_fields(r, item, key, "vigil"),
    )


def url_check(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// URL (http:// only for a loopback test server)"
    if parts.username or parts.password:
        return "must not contain credentials"
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
        return "plain http is allowed only on loopback"
    return None


def _zone_check(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"{value!r} is not a known time zone (e.g. 'UTC', 'America/Chicago')"
    return None


def _read_onguard(r: Reader, key: str, item: dict[str, Any]) -> OnGuardConfig:
    r.table(item, key, ONGUARD_KEYS)
    kinds_raw = r.get(item, key, "kinds", dict, {})
    kinds, problems = parse_kind_overrides(kinds_raw)
    for problem in problems:
        r.problem(f"{key}.kinds", problem)
    password = r.secret(item, key, "password")
    if password is None and "password_file" not in item:
        r.problem(f"{key}.password", "missing (required; or password_file)")
    ca_file = r.get(item, key, "ca_file", str)
    config = OnGuardConfig(
        url=r.get(item, key, "url", str, "", required=True, check=url_check).rstrip("/"),
        application_id=r.get(item, key, "application_id", str, "", required=True),
        user=r.get(item, key, "user", str, "", required=True),
        password=password or "",
        source=r.get(item, key, "source", str, "onguard", check=_source_check),
        directory=r.get(item, key, "directory", str),
        version=r.get(item, key, "version", str, DEFAULT_VERSION),
        poll_interval_s=float(r.get(item, key, "poll_interval_s", NUMBER, 5.0, check=positive)),
        overlap_s=float(r.get(item, key, "overlap_s", NUMBER, 120.0, check=positive)),
        first_lookback_s=float(r.get(item, key, "first_lookback_s", NUMBER, 3600.0, check=positive)),
        max_backfill_s=float(r.get(item, key, "max_backfill_s", NUMBER, 7 * 86_400.0, check=positive)),
        page_size=r.get(item, key, "page_size", int, MAX_PAGE_SIZE,
                        check=lambda v: None if 1 <= v <= MAX_PAGE_SIZE else f"must be 1..{MAX_PAGE_SIZE}"),
        timeout_s=float(r.get(item, key, "timeout_s", NUMBER, 15.0, check=positive)),
        time_zone=r.get(item, key, "time_zone", str, "UTC", check=_zone_check),
        verify_tls=r.get(item, key, "verify_tls", bool, True),
        ca_file=None if ca_file is None else Path(ca_file),
        kinds=tuple(kinds.items()),
    )
    if config.overlap_s > config.max_backfill_s:
        r.problem(f"{key}.overlap_s", "must not exceed max_backfill_s")
    return config


def read_door_adapters(r: Reader, data: Any) -> DoorAdaptersConfig:
    if data is None:
        return DoorAdaptersConfig()
    if not isinstance(data, dict):
        r.problem("door_adapters", "expected a table")
        return DoorAdaptersConfig()
    r.table(data, "door_adapters", {"mqtt", "onguard"})
    mqtt = None if "mqtt" not in data else _read_mqtt(r, data["mqtt"])
    raw = data.get("onguard", [])
    if not isinstance(raw, list):
        r.problem("door_adapters.onguard", "expected [[door_adapters.onguard]] tables")
        raw = []
    pollers: list[OnGuardConfig] = []
    for i, item in enumerate(raw):
        key = f"door_adapters.onguard[{i}]"
        if not isinstance(item, dict):
            r.problem(key, "expected a table")
            continue
        poller = _read_onguard(r, key, item)
        if poller.source in {p.source for p in pollers}:
            r.problem(f"{key}.source", f"duplicate source {poller.source!r} (name each OnGuard server)")
        pollers.append(poller)
    if mqtt is not None and mqtt.source in {p.source for p in pollers}:
        r.problem("door_adapters.mqtt.source", f"{mqtt.source!r} is also an OnGuard source")
    return DoorAdaptersConfig(mqtt, tuple(pollers))
