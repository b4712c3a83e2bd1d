"""Fixtures of the service tests: the API harness's configuration (two buildings, a camera in
each) with two doors, a real index, the users of every role, and the services' environment."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api_harness import CONFIG, DOORS, USERS, password_hash
from tests.support.service_env import env
from vigil.config import Config, parse_config
from vigil.core.permissions import UserSubject
from vigil.store.accounts import Accounts
from vigil.store.index import Index


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config(CONFIG.format(path=tmp_path / "data") + DOORS, tmp_path / "vigil.toml")


@pytest.fixture
def index(config: Config) -> Iterator[Index]:
    idx = Index.open(config.storage.index_path, time.time_ns())
    yield idx
    idx.close()


@pytest.fixture
def subjects(index: Index, password_hash: str) -> dict[str, UserSubject]:
    accounts = Accounts(index)
    for name, (role, buildings) in USERS.items():
        accounts.add_user(name, role, buildings, password_hash, time.time_ns())
    return {name: accounts.user(name).subject() for name in USERS}


__all__ = ["config", "env", "index", "password_hash", "subjects"]
