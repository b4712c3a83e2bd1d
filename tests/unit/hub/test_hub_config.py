"""`[hub]` read into HubConfig: defaults, paths beside the file, every problem named with its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.core.errors import ConfigError
from vigil.hub.config import load_hub_config

MINIMAL = '[hub]\nid = "district"\nname = "Springfield district"\ndata = "hub-data"\npublic_url = "https://hub.example:9443/"\n'


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(text)
    return path


def test_a_minimal_file_takes_the_defaults(tmp_path: Path) -> None:
    config = load_hub_config(_write(tmp_path, MINIMAL))
    assert config.hub_id == "district" and config.data_dir == tmp_path / "hub-data"
    assert config.public_url == "https://hub.example:9443"
    assert (config.port, config.broker_port, config.token_lifetime_s) == (9443, 8883, 300.0)
    assert config.archive == tmp_path / "hub-data" / "archive" and config.broker_pid_file is None


def test_every_key_is_read(tmp_path: Path) -> None:
    config = load_hub_config(_write(tmp_path, MINIMAL + "\n".join([
        'listen_host = "127.0.0.1"', "port = 10443", 'broker_host = "mqtt.example"', "broker_port = 18883",
        'broker_client_host = "::1"', "broker_client_port = 18884", 'broker_pid_file = "/run/m.pid"',
        "token_lifetime_s = 120", "session_hours = 8", "enrol_code_hours = 24", "silent_after_s = 60",
        'archive = "/srv/archive"', ""])))
    assert (config.listen_host, config.port, config.broker_host, config.broker_port) == (
        "127.0.0.1", 10443, "mqtt.example", 18883)
    assert (config.broker_client_host, config.broker_client_port) == ("::1", 18884)
    assert config.broker_pid_file == Path("/run/m.pid") and config.archive == Path("/srv/archive")
    assert (config.token_lifetime_s, config.session_hours, config.enrol_code_hours, config.silent_after_s) == (
        120.0, 8.0, 24.0, 60.0)


def test_every_problem_is_named_with_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, '[hub]\nid = "Bad Id"\nname = "x"\npublic_url = "http://hub.example"\n'
                            'token_lifetime_s = 3600\nport = 70000\nsession_hours = "long"\ncolour = "red"\n')
    with pytest.raises(ConfigError) as raised:
        load_hub_config(path)
    text = str(raised.value)
    for key, reason in [("hub.id", "not a valid id"), ("hub.data", "missing"), ("hub.public_url", "https://"),
                        ("hub.token_lifetime_s", "between 10 and 900"), ("hub.port", "TCP port"),
                        ("hub.session_hours", "or a number, got a string"), ("hub.colour", "unknown key")]:
        assert f"{path}: {key}: " in text and reason in text.split(f"{key}: ", 1)[1].splitlines()[0], (key, text)


def test_no_hub_table_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hub: missing \(required\)"):
        load_hub_config(_write(tmp_path, "[storage]\n"))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_hub_config(_write(tmp_path, "[hub\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_hub_config(tmp_path / "absent.toml")
