"""Fixtures of the service tests: a real index of the API harness's configuration, the users of
every role, and a ServiceEnv on them."""

from __future__ import annotations

import time

import pytest

from tests.support.api_harness import USERS, config, index, password_hash
from tests.support.service_env import env
from vigil.core.permissions import UserSubject
from vigil.store.accounts import Accounts
from vigil.store.index import Index

__all__ = ["config", "env", "index", "password_hash", "subjects"]


@pytest.fixture
def subjects(index: Index, password_hash: str) -> dict[str, UserSubject]:
    accounts = Accounts(index)
    for name, (role, buildings) in USERS.items():
        accounts.add_user(name, role, buildings, password_hash, time.time_ns())
    return {name: accounts.user(name).subject() for name in USERS}

