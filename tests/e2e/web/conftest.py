"""Fixtures of the web app's browser tests (tests/support/webapp.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.support.browser import chromium
from tests.support.webapp import WebApp, running_webapp


@pytest.fixture(scope="module")
def webapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """One daemon per test module (modules change state: plans, users, views)."""
    with running_webapp(tmp_path_factory.mktemp("webapp")) as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b
