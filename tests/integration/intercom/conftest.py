"""Fixtures of the intercom's API tests (defined in api_harness; test modules override `config`)."""

from tests.support.api_harness import api, config, index, password_hash

__all__ = ["api", "config", "index", "password_hash"]
