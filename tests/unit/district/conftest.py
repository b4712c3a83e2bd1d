"""The service tests' configuration and index (two buildings, a camera in each, two doors)."""

from tests.unit.services.conftest import config, index

__all__ = ["config", "index"]
