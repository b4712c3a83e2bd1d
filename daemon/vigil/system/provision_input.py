"""The provisioning input: one TOML document, parsed and validated with every problem named.

Format (design/appliance.md "Provisioning"):

    site_id = "springfield-usd"          # required
    [building]                           # required
    id = "hs"
    name = "High School"
    [admin]                              # optional; the first district admin (default name "admin")
    name = "admin"
    [tls]                                # optional; both or neither (else a self-signed certificate)
    cert = '''-----BEGIN CERTIFICATE-----...'''
    key = '''-----BEGIN PRIVATE KEY-----...'''
    [signing]                            # optional; the appliance's Ed25519 evidence signing key
    key = '''-----BEGIN PRIVATE KEY-----...'''
    [options]
    demo_camera = false                  # record the built-in synthetic camera
    recording_disk = true                # recordings on the VIGIL-DATA disk (/srv/vigil), else in /var/lib/vigil
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from vigil.config import ID_PATTERN
from vigil.core.errors import ConfigError

_ALLOWED = {
    "": {"site_id", "building", "admin", "tls", "signing", "options"},
    "building": {"id", "name"},
    "admin": {"name"},
    "tls": {"cert", "key"},
    "signing": {"key"},
    "options": {"demo_camera", "recording_disk"},
}
_USER_PATTERN = ID_PATTERN


@dataclass(frozen=True)
class ProvisionInput:
    site_id: str
    building_id: str
    building_name: str
    admin_name: str = "admin"
    tls_cert_pem: bytes | None = field(default=None, repr=False)
    tls_key_pem: bytes | None = field(default=None, repr=False)
    signing_key_pem: bytes | None = field(default=None, repr=False)
    demo_camera: bool = False
    recording_disk: bool = True


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{self.source}: {key}: {message}")

    def string(self, table: dict[str, Any], prefix: str, name: str, *, required: bool = False,
               id_like: bool = False) -> str | None:
        key = f"{prefix}.{name}" if prefix else name
        value = table.get(name)
        if value is None:
            if required:
                self.add(key, "missing (required)")
            return None
        if not isinstance(value, str):
            self.add(key, "expected a string")
            return None
        if id_like and not ID_PATTERN.match(value):
            self.add(key, f"{value!r} is not a valid id (lowercase letters, digits, '-', '_'; at most 63)")
            return None
        return value

    def flag(self, table: dict[str, Any], name: str, default: bool) -> bool:
        value = table.get(name, default)
        if not isinstance(value, bool):
            self.add(f"options.{name}", "expected true or false")
            return default
        return value


def _table(p: _Problems, raw: dict[str, Any], name: str, *, required: bool = False) -> dict[str, Any]:
    value = raw.get(name)
    if value is None:
        if required:
            p.add(name, "missing [" + name + "] table")
        return {}
    if not isinstance(value, dict):
        p.add(name, "expected a table")
        return {}
    for key in value:
        if key not in _ALLOWED[name]:
            p.add(f"{name}.{key}", "unknown key")
    return value


def _check_tls(p: _Problems, cert: str | None, key: str | None) -> None:
    if (cert is None) != (key is None):
        p.add("tls", "give both cert and key, or neither (a self-signed certificate is made)")
        return
    if cert is None or key is None:
        return
    try:
        x509.load_pem_x509_certificate(cert.encode())
    except ValueError:
        p.add("tls.cert", "not a PEM certificate")
    try:
        serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        p.add("tls.key", "not an unencrypted PEM private key")


def _check_signing(p: _Problems, key: str | None) -> None:
    if key is None:
        return
    try:
        loaded = serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        p.add("signing.key", "not an unencrypted PEM private key")
        return
    if not isinstance(loaded, ed25519.Ed25519PrivateKey):
        p.add("signing.key", "must be an Ed25519 private key")


def parse_provision_input(text: str, source: str) -> ProvisionInput:
    """Validate the whole document; raise ConfigError listing every problem (never a secret)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    p = _Problems(source)
    for key in raw:
        if key not in _ALLOWED[""]:
            p.add(key, "unknown key")
    site_id = p.string(raw, "", "site_id", required=True, id_like=True)
    building = _table(p, raw, "building", required=True)
    building_id = p.string(building, "building", "id", required=True, id_like=True)
    building_name = p.string(building, "building", "name") or building_id
    admin = _table(p, raw, "admin")
    admin_name = p.string(admin, "admin", "name", id_like=True) or "admin"
    tls = _table(p, raw, "tls")
    cert_pem = p.string(tls, "tls", "cert")
    key_pem = p.string(tls, "tls", "key")
    _check_tls(p, cert_pem, key_pem)
    signing = _table(p, raw, "signing")
    signing_key = p.string(signing, "signing", "key")
    _check_signing(p, signing_key)
    options = _table(p, raw, "options")
    demo = p.flag(options, "demo_camera", False)
    disk = p.flag(options, "recording_disk", True)
    if p.items:
        raise ConfigError("invalid provisioning input:\n  " + "\n  ".join(p.items))
    assert site_id is not None and building_id is not None and building_name is not None
    return ProvisionInput(
        site_id=site_id, building_id=building_id, building_name=building_name, admin_name=admin_name,
        tls_cert_pem=None if cert_pem is None else cert_pem.encode(),
        tls_key_pem=None if key_pem is None else key_pem.encode(),
        signing_key_pem=None if signing_key is None else signing_key.encode(), demo_camera=demo,
        recording_disk=disk,
    )
