"""`[hub] broker_listen_host`: the district broker's TLS listener binds that address (`vigil hub
demo` keeps it on loopback); without it, every interface, as a district broker needs."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vigil.hub.broker_conf import mosquitto_conf
from vigil.hub.config import read_hub_config
from vigil.hub.env import HubKeys


def _conf(tmp_path: Path, extra: dict[str, object]) -> str:
    raw = {"hub": {"id": "d", "name": "D", "data": str(tmp_path), "public_url": "https://hub.example",
                   "broker_port": 18883, **extra}}
    config = read_hub_config(tmp_path / "hub.toml", raw)
    paths = (tmp_path / name for name in ("ca", "ca-key", "https", "https-key", "broker", "broker-key", "c", "c-key"))
    keys = HubKeys(Ed25519PrivateKey.generate(), *paths)
    return mosquitto_conf(config, keys)


def test_the_broker_listens_where_the_hub_says(tmp_path: Path) -> None:
    assert "\nlistener 18883 127.0.0.1\n" in _conf(tmp_path, {"broker_listen_host": "127.0.0.1"})
    assert "\nlistener 18883\n" in _conf(tmp_path, {})
