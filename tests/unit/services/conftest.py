"""Fixtures of the service tests: the API harness's configuration (two buildings, a camera in
each) with two doors, a real index, and the services' environment over them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api_harness import CONFIG
from vigil.config import Config, parse_config
from vigil.core.permissions import LinkSubject, Role, UserSubject
from vigil.services.caller import Caller, Via
from vigil.services.env import ServiceEnv
from vigil.store.index import Index

DOORS = """
[[doors]]
id = "hs-front"
building = "hs"
cameras = ["hs-cam"]
access_points = [{ source = "lenel", id = "r1" }]
[[doors]]
id = "ms-front"
building = "ms"
cameras = ["ms-cam"]
access_points = [{ source = "lenel", id = "r2" }]
[door_adapters.mqtt]
host = "127.0.0.1"
"""

USERS = {
    "district": UserSubject(1, "district", Role.DISTRICT_ADMIN, frozenset()),
    "hs-admin": UserSubject(2, "hs-admin", Role.BUILDING_ADMIN, frozenset({"hs"})),
    "hs-viewer": UserSubject(3, "hs-viewer", Role.VIEWER, frozenset({"hs"})),
}


def user(name: str, now_ns: int) -> Caller:
    return Caller(USERS[name], Via.TOKEN, now_ns, remote="127.0.0.1")


def hs_link(now_ns: int) -> Caller:
    """A responder link to building hs with live video and playback, valid for an hour."""
    link = LinkSubject(7, frozenset(), frozenset({"hs"}), True, True, None, None, now_ns + 3600 * 10**9)
    return Caller(link, Via.LINK, now_ns, remote="127.0.0.1")


def appliance(now_ns: int) -> Caller:
    return Caller(None, Via.CLI, now_ns, name="cli:test")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config(CONFIG.format(path=tmp_path / "data") + DOORS, tmp_path / "vigil.toml")


@pytest.fixture
def index(config: Config) -> Iterator[Index]:
    idx = Index.open(config.storage.index_path, time.time_ns())
    yield idx
    idx.close()


@pytest.fixture
def env(config: Config, index: Index) -> Iterator[ServiceEnv]:
    service_env = ServiceEnv(config, index)
    yield service_env
    service_env.close()
