"""Signed webhooks: HMAC-SHA256 over "<timestamp>.<body>" with the site's shared secret.

Headers: `Vigil-Timestamp: <Unix seconds>` and `Vigil-Signature: sha256=<hex>`. A request whose
timestamp is more than `max_age_s` from the appliance's clock is refused, so a captured request
cannot be replayed later (and a replay within the window is harmless: events are idempotent).
Pure; comparison in constant time."""

from __future__ import annotations

import hashlib
import hmac

from vigil.core.errors import AuthenticationError
from vigil.core.timebase import NS_PER_SECOND

TIMESTAMP_HEADER = "Vigil-Timestamp"
SIGNATURE_HEADER = "Vigil-Signature"
SCHEME = "sha256="


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `Vigil-Signature` value for a body sent at `timestamp` (Unix seconds, as text)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def verify(secret: str | None, timestamp: str | None, signature: str | None, body: bytes, now_ns: int,
           max_age_s: float) -> None:
    """Raise AuthenticationError unless the signature is fresh and right."""
    if secret is None:
        raise AuthenticationError("signed door events are not enabled here ([door_events] webhook_secret)")
    if timestamp is None or signature is None:
        raise AuthenticationError(f"a signed request needs both {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
    text = timestamp.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise AuthenticationError(f"{TIMESTAMP_HEADER} must be Unix seconds")
    if abs(now_ns - int(text) * NS_PER_SECOND) > round(max_age_s * NS_PER_SECOND):
        raise AuthenticationError(f"{TIMESTAMP_HEADER} is more than {max_age_s:g} s from this appliance's clock")
    expected = sign(secret, text, body).encode()
    if not hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace")):
        raise AuthenticationError(f"{SIGNATURE_HEADER} does not match the body")
