"""Fixtures of the API tests (defined in api_harness)."""

from tests.support.api_harness import api, config, index, password_hash

__all__ = ["api", "config", "index", "password_hash"]
