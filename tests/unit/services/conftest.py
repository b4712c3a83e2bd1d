"""Fixtures of the service tests: the API tests' configuration (two buildings, a camera each) and a real index."""

from tests.support.api_harness import config, index
from tests.support.service_env import env

__all__ = ["config", "env", "index"]
