"""Password hashing: Argon2id (argon2-cffi, RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from vigil.core.errors import BadRequestError

_HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
# Verified against when the user does not exist, so unknown names take as long as wrong passwords.
_DUMMY_HASH = _HASHER.hash("vigil-timing-equalizer")
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequestError(f"password too short (at least {MIN_PASSWORD_LENGTH} characters)")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
