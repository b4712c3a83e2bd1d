"""Fixtures of the service tests: a real index of the API harness's configuration, the users of
every role, and a ServiceEnv on them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.api_harness import USERS, config, index, password_hash
from vigil.config import Config
from vigil.core.permissions import Subject, UserSubject
from vigil.services.caller import Caller, Via
from vigil.services.env import ServiceEnv
from vigil.store.accounts import Accounts
from vigil.store.index import Index

__all__ = ["config", "env", "index", "password_hash", "subjects"]


@pytest.fixture
def subjects(index: Index, password_hash: str) -> dict[str, UserSubject]:
    accounts = Accounts(index)
    for name, (role, buildings) in USERS.items():
        accounts.add_user(name, role, buildings, password_hash, time.time_ns())
    return {name: accounts.user(name).subject() for name in USERS}


@pytest.fixture
def env(config: Config, index: Index) -> Iterator[ServiceEnv]:
    service_env = ServiceEnv(config, index)
    yield service_env
    service_env.close()


def api_caller(subject: Subject | None, now_ns: int | None = None, via: Via = Via.TOKEN) -> Caller:
    return Caller(subject, via, now_ns or time.time_ns(), remote="127.0.0.1")
