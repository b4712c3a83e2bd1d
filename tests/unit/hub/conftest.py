"""Fixtures of the hub's unit tests (defined in tests/support/hub_app.py)."""

from tests.support.hub_app import hub

__all__ = ["hub"]
