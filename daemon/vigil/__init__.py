"""Vigil: a recorder appliance for schools."""

__version__ = "0.1.0"
