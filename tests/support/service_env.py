"""A ServiceEnv over a real index, and callers as the API would build them, for service tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from vigil.config import Config
from vigil.config.live import LiveConfig
from vigil.core.permissions import LinkSubject, Role, Subject, UserSubject
from vigil.services.caller import Caller, Via
from vigil.services.env import ServiceEnv
from vigil.store.index import Index

S = 1_000_000_000
NOW = 1_790_000_000 * S
USERS = {
    "district": UserSubject(1, "district", Role.DISTRICT_ADMIN, frozenset()),
    "hs-admin": UserSubject(2, "hs-admin", Role.BUILDING_ADMIN, frozenset({"hs"})),
    "hs-viewer": UserSubject(3, "hs-viewer", Role.VIEWER, frozenset({"hs"})),
}


def user(name: str, now_ns: int = NOW, remote: str = "192.0.2.7") -> Caller:
    """An API caller with a bearer token."""
    return Caller(USERS[name], Via.TOKEN, now_ns, remote=remote)


def hs_link(now_ns: int) -> Caller:
    """A responder link to building hs with live video and playback, valid for an hour."""
    link = LinkSubject(7, frozenset(), frozenset({"hs"}), True, True, None, None, now_ns + 3600 * 10**9)
    return Caller(link, Via.LINK, now_ns, remote="127.0.0.1")


def appliance(now_ns: int) -> Caller:
    """The CLI, acting as the appliance."""
    return Caller(None, Via.CLI, now_ns, name="cli:test")


@pytest.fixture
def env(config: Config, index: Index) -> Iterator[ServiceEnv]:
    service_env = ServiceEnv(LiveConfig(config), index)
    yield service_env
    service_env.close()

def api_caller(subject: Subject | None, now_ns: int | None = None, via: Via = Via.TOKEN) -> Caller:
    """An API caller for any subject (None: anonymous), from 127.0.0.1."""
    return Caller(subject, via, now_ns or time.time_ns(), remote="127.0.0.1")
