"""The per-appliance key under which badge numbers are hashed (HMAC-SHA256), kept like the TLS
key: made on first start, owner-only (0600) in an owner-only directory, never logged."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from vigil.core.errors import StorageError

log = logging.getLogger(__name__)

KEY_BYTES = 32


def ensure_door_key(directory: Path) -> bytes:
    path = directory / "credential.key"
    if path.exists():
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise StorageError(f"{path}: expected {KEY_BYTES} bytes, found {len(key)}")
        return key
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    log.info("made the door credential key %s", path)
    return key
