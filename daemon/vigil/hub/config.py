"""`vigil hub --config FILE`: the `[hub]` table read into a HubConfig. Every problem is collected
with its key (config/reader.py's Reader) and raised once as a ConfigError naming file, key and
reason, so an operator fixes the file in one pass."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vigil.config.reader import NUMBER, Reader, between, id_check, positive
from vigil.core.errors import ConfigError
from vigil.hub.env import HubConfig

_KEYS = {"id", "name", "data", "public_url", "listen_host", "port", "broker_host", "broker_port",
         "broker_listen_host", "broker_client_host", "broker_client_port", "broker_pid_file", "token_lifetime_s",
         "session_hours", "enrol_code_hours", "silent_after_s", "archive"}
MAX_TOKEN_LIFETIME_S = 900.0  # core.district.TokenPolicy's default: appliances refuse longer tokens


def _port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be a TCP port (1-65535)"


def _https_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        return "must be an https:// URL with a host"
    return None


def _path(source: Path, text: str) -> Path:
    path = Path(text)
    return path if path.is_absolute() else source.parent / path


def read_hub_config(source: Path, raw: dict[str, Any]) -> HubConfig:
    reader = Reader(source)
    reader.table(raw, "", {"hub"})
    hub = raw.get("hub")
    if not isinstance(hub, dict):
        reader.problem("hub", "missing (required): the [hub] table")
        raise ConfigError("\n".join(reader.problems))
    reader.table(hub, "hub", _KEYS)
    get = reader.get
    hub_id = get(hub, "hub", "id", str, "", required=True, check=id_check)
    name = get(hub, "hub", "name", str, "", required=True,
               check=lambda v: None if v.strip() and len(v) <= 200 else "must be 1-200 characters")
    data = get(hub, "hub", "data", str, "", required=True, check=lambda v: None if v else "must not be empty")
    public_url = get(hub, "hub", "public_url", str, "", required=True, check=_https_url)
    defaults = HubConfig(hub_id="x", name="x", data_dir=Path(), public_url="https://x")
    pid_file = get(hub, "hub", "broker_pid_file", str)
    archive = get(hub, "hub", "archive", str)
    config = HubConfig(
        hub_id=hub_id, name=name, data_dir=_path(source, data), public_url=public_url.rstrip("/"),
        listen_host=get(hub, "hub", "listen_host", str, defaults.listen_host),
        port=get(hub, "hub", "port", int, defaults.port, check=_port),
        broker_host=get(hub, "hub", "broker_host", str, defaults.broker_host),
        broker_port=get(hub, "hub", "broker_port", int, defaults.broker_port, check=_port),
        broker_listen_host=get(hub, "hub", "broker_listen_host", str),
        broker_client_host=get(hub, "hub", "broker_client_host", str, defaults.broker_client_host),
        broker_client_port=get(hub, "hub", "broker_client_port", int, defaults.broker_client_port, check=_port),
        broker_pid_file=None if pid_file is None else _path(source, pid_file),
        token_lifetime_s=float(get(hub, "hub", "token_lifetime_s", NUMBER, defaults.token_lifetime_s,
                                   check=between(10, MAX_TOKEN_LIFETIME_S, "s"))),
        session_hours=float(get(hub, "hub", "session_hours", NUMBER, defaults.session_hours,
                                check=between(0.05, 168, "hours"))),
        enrol_code_hours=float(get(hub, "hub", "enrol_code_hours", NUMBER, defaults.enrol_code_hours,
                                   check=positive)),
        silent_after_s=float(get(hub, "hub", "silent_after_s", NUMBER, defaults.silent_after_s, check=positive)),
        archive_dir=None if archive is None else _path(source, archive),
    )
    if reader.problems:
        raise ConfigError("\n".join(reader.problems))
    return config


def load_hub_config(path: Path) -> HubConfig:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return read_hub_config(path, raw)
