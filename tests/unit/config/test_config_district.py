"""`[district]`: defaults, values, and every problem named with its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.config import DistrictConfig, parse_config
from vigil.core.errors import ConfigError
from vigil.core.permissions import Role

BASE = '[storage]\npath = "/srv/vigil"\n'


def test_defaults_when_absent() -> None:
    district = parse_config(BASE, Path("v.toml")).district
    assert district == DistrictConfig()
    assert district.max_role is Role.DISTRICT_ADMIN and district.broker_port == 1883 and district.publish


def test_values() -> None:
    district = parse_config(BASE + '[district]\nmax_role = "viewer"\nskew_s = 5\npublish = false\n'
                            'broker_host = "10.0.0.2"\nbroker_port = 1884\nhealth_interval_s = 2.5\n'
                            'bridge_conf_path = "/tmp/b.conf"\npublic_url = "https://cam.school.example/"\n',
                            Path("v.toml")).district
    assert district == DistrictConfig(Role.VIEWER, 5.0, 900.0, False, "10.0.0.2", 1884, 2.5, Path("/tmp/b.conf"),
                                      "https://cam.school.example")


def test_problems_are_named() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(BASE + '[district]\nmax_role = "installer"\nbroker_port = 0\nbridge_conf_path = "rel.conf"\n'
                     'public_url = "ftp://x"\nmax_token_lifetime_s = 1\nwhat = 1\n', Path("v.toml"))
    keys = {key for key, _ in raised.value.problems}
    assert keys == {"district.max_role", "district.broker_port", "district.bridge_conf_path", "district.public_url",
                    "district.max_token_lifetime_s", "district.what"}
