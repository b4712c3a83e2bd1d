"""The per-appliance key under which badge numbers are hashed (HMAC-SHA256), kept like the TLS
key (vigil.secret_keys)."""

from __future__ import annotations

from pathlib import Path

from vigil.secret_keys import ensure_key


def ensure_door_key(directory: Path) -> bytes:
    """The key in `directory`, made if there is none."""
    return ensure_key(directory / "credential.key", "door credential key")
