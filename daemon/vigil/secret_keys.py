"""Per-appliance secret keys kept like the TLS key: made on first start, owner-only (0600) in an
owner-only directory, never logged, never replaced (the door credential key, the incident link key)."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from vigil.core.errors import StorageError
from vigil.record.storage import create_new_file

log = logging.getLogger(__name__)

KEY_BYTES = 32


def _load(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise StorageError(f"{path}: expected {KEY_BYTES} bytes, found {len(key)}")
    return key


def ensure_key(path: Path, what: str) -> bytes:
    """The key at `path`, made if there is none: written to a temporary file and linked into
    place, so a crash never leaves a short key behind. Never overwrites one."""
    if path.exists():
        return _load(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    if not create_new_file(path, key):  # made meanwhile by someone else: theirs is the key
        return _load(path)
    log.info("made the %s %s", what, path)
    return key
