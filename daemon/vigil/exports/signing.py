"""The appliance's evidence signing key: Ed25519, made once at first start, never replaced.

The private key lives with the appliance's other keys (`<storage.path>/keys/signing-ed25519.pem`,
mode 0600, PKCS#8 PEM; the path `vigil provision` installs a given key at). It is written to a
temporary file, fsynced, then hard-linked to its name: link() fails if the name exists, so a
second start (or a racing provisioning step) never overwrites a key that already signed
packages. The fingerprint is SHA-256 of the raw 32-byte public key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigil.core.errors import BadRequestError, StorageError
from vigil.record.storage import create_new_file

log = logging.getLogger(__name__)

KEY_RELPATH = Path("keys") / "signing-ed25519.pem"  # = system/provision.py's SIGNING_KEY_RELPATH


def signing_key_path(storage_path: Path) -> Path:
    return storage_path / KEY_RELPATH


@dataclass(frozen=True)
class PublicKeyInfo:
    raw: bytes  # 32 bytes
    pem: str

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def raw_base64(self) -> str:
        return base64.b64encode(self.raw).decode()

    def key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.raw)


def public_info(key: Ed25519PublicKey) -> PublicKeyInfo:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return PublicKeyInfo(raw, pem)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as error:
        raise StorageError(f"{path}: cannot read the evidence signing key: {error.strerror}") from None
    except ValueError:
        raise StorageError(f"{path}: not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise StorageError(f"{path}: not an Ed25519 key")
    return key


def ensure_signing_key(path: Path) -> Ed25519PrivateKey:
    """The key at `path`, created (0600, atomically) if there is none. Never overwrites one."""
    if path.exists():
        return load_signing_key(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if not create_new_file(path, pem):  # made meanwhile by someone else: theirs is the key
        return load_signing_key(path)
    log.info("made the evidence signing key %s (fingerprint %s)", path, public_info(key.public_key()).fingerprint)
    return key


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def signature_valid(public: PublicKeyInfo, data: bytes, signature: bytes) -> bool:
    try:
        public.key().verify(signature, data)
    except InvalidSignature:
        return False
    return True


def parse_public_pem(pem: str) -> PublicKeyInfo:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError:
        raise BadRequestError("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadRequestError("not an Ed25519 public key")
    return public_info(key)


def expected_fingerprint(text: str) -> str:
    """What `--key` names, as a fingerprint: a PEM file, a PEM text, raw base64, or a fingerprint."""
    candidate = text.strip()
    if len(candidate) == 64 and all(c in "0123456789abcdefABCDEF" for c in candidate):
        return candidate.lower()
    if "BEGIN PUBLIC KEY" in candidate:
        return parse_public_pem(candidate).fingerprint
    path = Path(candidate)
    if path.is_file():
        return parse_public_pem(path.read_text(errors="replace")).fingerprint
    try:
        raw = base64.b64decode(candidate, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 32:
        return hashlib.sha256(raw).hexdigest()
    raise BadRequestError(f"--key {text!r}: not a PEM file, a PEM public key, a base64 raw Ed25519 key or a"
                          " 64-hex-digit fingerprint")
