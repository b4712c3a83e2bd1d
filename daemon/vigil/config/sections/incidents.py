"""`[incidents]`: the look-back and tail of an incident's holds, its link's cap, the retry budget of
deliveries, and the recipients (`[[incidents.webhooks]]`, `[incidents.email]`, `[incidents.mqtt]`)
and triggers (`[incidents.mqtt] declare_topic`, `[incidents.door_rule]`). Secrets come as a value or
as `<name>_file`; they never appear in messages or reprs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vigil.config.model import (
    IncidentDoorRuleConfig,
    IncidentEmailConfig,
    IncidentMqttConfig,
    IncidentsConfig,
    IncidentWebhookConfig,
)
from vigil.config.reader import NUMBER, Reader, id_check, positive
from vigil.config.sections.door_adapters import broker_fields, prefix_check, topic_check, url_check
from vigil.core.door_events import DoorEventKind
from vigil.core.door_rules import Severity

KEYS = {"lookback_s", "tail_s", "link_max_hours", "delivery_attempts", "webhooks", "email", "mqtt", "door_rule"}
WEBHOOK_KEYS = {"name", "url", "secret", "secret_file", "timeout_s"}
EMAIL_KEYS = {"host", "port", "sender", "to", "starttls", "tls", "ca_file", "username", "password", "password_file",
              "timeout_s"}
MQTT_KEYS = {"host", "port", "client_id", "declare_topic", "publish_topic", "username", "password", "password_file",
             "tls", "ca_file", "keepalive_s"}
DOOR_RULE_KEYS = {"enabled", "min_severity", "kinds"}
MIN_SECRET_CHARS = 16


def _port(v: int) -> str | None:
    return None if 0 < v < 65536 else "must be 1..65535"


def _address(v: str) -> str | None:
    local, _, domain = v.rpartition("@")
    return None if local and domain and " " not in v and "\n" not in v else "must be an e-mail address"


def _webhooks(r: Reader, raw: Any) -> tuple[IncidentWebhookConfig, ...]:
    if not isinstance(raw, list):
        r.problem("incidents.webhooks", "expected [[incidents.webhooks]] tables")
        return ()
    out: list[IncidentWebhookConfig] = []
    for i, item in enumerate(raw):
        key = f"incidents.webhooks[{i}]"
        if not isinstance(item, dict):
            r.problem(key, "expected a table")
            continue
        r.table(item, key, WEBHOOK_KEYS)
        name = r.get(item, key, "name", str, "", required=True, check=id_check)
        if name and name in {w.name for w in out}:
            r.problem(f"{key}.name", f"duplicate webhook name {name!r}")
        url = r.get(item, key, "url", str, "", required=True, check=url_check)
        secret = r.secret(item, key, "secret")
        if secret is None:
            r.problem(key, "a webhook needs a secret (or secret_file) to sign its body with")
        elif len(secret) < MIN_SECRET_CHARS:
            r.problem(f"{key}.secret", f"must be at least {MIN_SECRET_CHARS} characters")
        timeout = r.get(item, key, "timeout_s", NUMBER, 5.0, check=positive)
        out.append(IncidentWebhookConfig(name, url, secret or "", float(timeout)))
    return tuple(out)


def _email(r: Reader, item: Any) -> IncidentEmailConfig | None:
    key = "incidents.email"
    if not isinstance(item, dict):
        r.problem(key, "expected a table")
        return None
    r.table(item, key, EMAIL_KEYS)
    to = r.strings(item, key, "to")
    for address in to:
        if _address(address) is not None:
            r.problem(f"{key}.to", f"{address!r} is not an e-mail address")
    if not to:
        r.problem(f"{key}.to", "name at least one address")
    ca_file = r.get(item, key, "ca_file", str)
    config = IncidentEmailConfig(
        host=r.get(item, key, "host", str, "", required=True),
        sender=r.get(item, key, "sender", str, "", required=True, check=_address),
        to=to,
        port=r.get(item, key, "port", int, 25, check=_port),
        starttls=r.get(item, key, "starttls", bool, False),
        tls=r.get(item, key, "tls", bool, False),
        ca_file=None if ca_file is None else Path(ca_file),
        username=r.get(item, key, "username", str),
        password=r.secret(item, key, "password"),
        timeout_s=float(r.get(item, key, "timeout_s", NUMBER, 10.0, check=positive)),
    )
    if config.starttls and config.tls:
        r.problem(key, "set starttls (port 587) or tls (port 465), not both")
    if config.password is not None and config.username is None:
        r.problem(key, "a password needs a username")
    return config


def _mqtt(r: Reader, item: Any) -> IncidentMqttConfig | None:
    key = "incidents.mqtt"
    if not isinstance(item, dict):
        r.problem(key, "expected a table")
        return None
    r.table(item, key, MQTT_KEYS)
    config = IncidentMqttConfig(
        declare_topic=r.get(item, key, "declare_topic", str, None, check=topic_check),
        publish_topic=r.get(item, key, "publish_topic", str, None, check=prefix_check),
        **broker_fields(r, item, key, "vigil-incidents"),
    )
    if config.declare_topic is not None and config.username is None:
        r.problem(key, "the MQTT trigger needs credentials of its own (username and password)")
    return config


def _door_rule(r: Reader, item: Any) -> IncidentDoorRuleConfig:
    key = "incidents.door_rule"
    if not isinstance(item, dict):
        r.problem(key, "expected a table")
        return IncidentDoorRuleConfig()
    r.table(item, key, DOOR_RULE_KEYS)
    levels = [s.label for s in Severity if s is not Severity.NONE]
    severity = r.get(item, key, "min_severity", str, "critical",
                     check=lambda v: None if v in levels else f"must be one of {levels}")
    kinds = []
    for kind in r.strings(item, key, "kinds"):
        try:
            kinds.append(DoorEventKind(kind))
        except ValueError:
            r.problem(f"{key}.kinds", f"{kind!r} is not a door event kind ({sorted(k.value for k in DoorEventKind)})")
    return IncidentDoorRuleConfig(
        enabled=r.get(item, key, "enabled", bool, False),
        min_severity=Severity[severity.upper()] if severity in levels else Severity.CRITICAL,
        kinds=tuple(kinds))


def read_incidents(r: Reader, data: Any) -> IncidentsConfig:
    if data is None:
        return IncidentsConfig()
    if not isinstance(data, dict):
        r.problem("incidents", "expected a table")
        return IncidentsConfig()
    r.table(data, "incidents", KEYS)
    default = IncidentsConfig()
    return IncidentsConfig(
        lookback_s=float(r.get(data, "incidents", "lookback_s", NUMBER, default.lookback_s,
                               check=lambda v: None if 0 <= v <= 86_400 else "must be 0-86400 seconds")),
        tail_s=float(r.get(data, "incidents", "tail_s", NUMBER, default.tail_s,
                           check=lambda v: None if 0 <= v <= 86_400 else "must be 0-86400 seconds")),
        link_max_hours=float(r.get(data, "incidents", "link_max_hours", NUMBER, default.link_max_hours,
                                   check=lambda v: None if 0 < v <= 72 else "must be more than 0 and at most 72")),
        delivery_attempts=r.get(data, "incidents", "delivery_attempts", int, default.delivery_attempts,
                                check=lambda v: None if 1 <= v <= 100 else "must be 1-100"),
        webhooks=_webhooks(r, data["webhooks"]) if "webhooks" in data else (),
        email=_email(r, data["email"]) if "email" in data else None,
        mqtt=_mqtt(r, data["mqtt"]) if "mqtt" in data else None,
        door_rule=_door_rule(r, data["door_rule"]) if "door_rule" in data else IncidentDoorRuleConfig(),
    )
