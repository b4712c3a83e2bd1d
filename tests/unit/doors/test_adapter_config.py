"""[door_adapters.mqtt] and [[door_adapters.onguard]]: values, file secrets, every problem named."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.config import parse_config
from vigil.core.door_events import DoorEventKind
from vigil.core.errors import ConfigError

BASE = """
[storage]
path = "data"
[[buildings]]
id = "hs"
"""

ADAPTERS = """
[door_adapters.mqtt]
host = "broker.school.lan"
port = 8883
tls = true
username = "vigil"
password_file = "mqtt.secret"
topic = "lenel/+/events"

[[door_adapters.onguard]]
url = "https://onguard.school.lan/api/access/onguard/openaccess/"
application_id = "app-secret-id"
user = "vigil"
password = "og-secret-pw"
directory = "id-1"
time_zone = "America/Chicago"
kinds = { "Door Contact Alarm" = "door_forced_open" }

[[door_adapters.onguard]]
source = "onguard-ms"
url = "https://ms-onguard.school.lan/api/access/onguard/openaccess"
application_id = "app-2"
user = "vigil"
password_file = "/nonexistent/never"
"""


def test_adapters_parse_with_file_secrets(tmp_path: Path) -> None:
    (tmp_path / "mqtt.secret").write_text("mqtt-secret-pw\n")
    text = BASE + ADAPTERS.replace('password_file = "/nonexistent/never"', 'password = "x2"')
    cfg = parse_config(text, tmp_path / "v.toml")
    mqtt = cfg.door_adapters.mqtt
    assert mqtt is not None and (mqtt.host, mqtt.port, mqtt.tls, mqtt.client_id) == ("broker.school.lan", 8883, True,
                                                                                      "vigil")
    assert mqtt.password == "mqtt-secret-pw" and mqtt.topic == "lenel/+/events"
    first, second = cfg.door_adapters.onguard
    assert first.url == "https://onguard.school.lan/api/access/onguard/openaccess"
    assert (first.source, first.verify_tls, first.page_size, first.overlap_s) == ("onguard", True, 100, 120.0)
    assert first.kinds == (("Door Contact Alarm", DoorEventKind.DOOR_FORCED_OPEN),)
    assert str(first.server_tz) == "America/Chicago"
    assert second.source == "onguard-ms"
    assert {"mqtt-secret-pw", "og-secret-pw", "app-secret-id", "x2"} <= set(cfg.secrets)
    for secret in ("mqtt-secret-pw", "og-secret-pw", "app-secret-id"):
        assert secret not in repr(cfg.door_adapters)


def test_no_adapters_by_default(tmp_path: Path) -> None:
    cfg = parse_config(BASE, tmp_path / "v.toml")
    assert cfg.door_adapters.mqtt is None and cfg.door_adapters.onguard == ()


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda t: t.replace("port = 8883", "port = 70000"), "door_adapters.mqtt.port: must be 1..65535"),
    (lambda t: t.replace('username = "vigil"\n', ""), "door_adapters.mqtt: a password needs a username"),
    (lambda t: t.replace("tls = true", "tls = true\nretain = 1"), "door_adapters.mqtt.retain: unknown key"),
    (lambda t: t.replace('"America/Chicago"', '"Mars/Olympus"'), "time_zone: 'Mars/Olympus' is not a known"),
    (lambda t: t.replace('"door_forced_open"', '"teleport"'), "onguard[0].kinds: 'Door Contact Alarm': unknown kind"),
    (lambda t: t.replace("https://onguard", "http://onguard"), "onguard[0].url: plain http is allowed only"),
    (lambda t: t.replace('user = "vigil"\npassword = "og-secret-pw"', 'user = "vigil"'),
     "onguard[0].password: missing"),
    (lambda t: t.replace('password = "og-secret-pw"', 'password = "og-secret-pw"\npassword_file = "f"'),
     "set 'password' or 'password_file', not both"),
    (lambda t: t, "onguard[1].password_file: cannot read /nonexistent/never"),
    (lambda t: t.replace('source = "onguard-ms"', 'source = "onguard"'), "duplicate source 'onguard'"),
    (lambda t: t + "page_size = 500\n", "onguard[1].page_size: must be 1..100"),
])
def test_bad_adapter_config_is_named(tmp_path: Path, edit: object, expected: str) -> None:
    (tmp_path / "mqtt.secret").write_text("mqtt-secret-pw\n")
    with pytest.raises(ConfigError) as info:
        parse_config(edit(BASE + ADAPTERS), tmp_path / "v.toml")  # type: ignore[operator]
    message = str(info.value)
    assert expected in message
    for secret in ("mqtt-secret-pw", "og-secret-pw", "app-secret-id"):
        assert secret not in message
