"""Hub tokens signed and checked with Ed25519 (core/district.py says what they hold and when an
appliance accepts one). The hub signs with its private key; an appliance checks with the public
key it received at enrolment."""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigil.core.district import (
    DistrictTokenError,
    HubClaims,
    TokenPolicy,
    accept_claims,
    claims_payload,
    join_token,
    parse_claims,
    signed_message,
    split_token,
)


def sign_token(key: Ed25519PrivateKey, claims: HubClaims) -> str:
    payload = claims_payload(claims)
    return join_token(payload, key.sign(signed_message(payload)))


def verify_token(public_key: Ed25519PublicKey, token: str, policy: TokenPolicy, now_ns: int) -> HubClaims:
    """The claims of a token this appliance may take; DistrictTokenError naming why not. The
    signature is checked before anything in the payload is believed."""
    payload, signature = split_token(token)
    try:
        public_key.verify(signature, signed_message(payload))
    except InvalidSignature:
        raise DistrictTokenError("hub token signature does not verify with the enrolled hub's key") from None
    claims = parse_claims(payload)
    accept_claims(claims, policy, now_ns)
    return claims


def public_key_text(public_key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64 (how the hub hands it over at enrolment)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ValueError("a hub public key is 32 bytes in base64") from None


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def private_key_from_pem(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the hub token key is not an Ed25519 key")
    return key
