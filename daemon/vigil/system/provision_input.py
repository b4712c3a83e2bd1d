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
    [district]                           # optional; enrol with a district hub on first boot (issue 17)
    hub_url = "https://hub.district.example:9443"
    enrol_code = "XXXX-XXXX-XXXX-XXXX-XXXX"   # printed by `vigil hub enroll` at the hub; one use
    site_id = "lincoln-hs"               # optional: the code's
    url = "https://lincoln-hs.district.example:8443"   # optional: how browsers reach this appliance
    [options]
    demo_camera = false                  # record the built-in synthetic camera
    recording_disk = true                # recordings on the VIGIL-DATA disk (/srv/vigil), else in /var/lib/vigil
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from vigil.config.reader import Reader, id_check  # the configuration's TOML walker serves here too
from vigil.core.district import parse_enrol_code
from vigil.core.errors import BadRequestError, ConfigError

_ALLOWED = {
    "": {"site_id", "building", "admin", "tls", "signing", "options", "district"},
    "building": {"id", "name"},
    "admin": {"name"},
    "tls": {"cert", "key"},
    "signing": {"key"},
    "options": {"demo_camera", "recording_disk"},
    "district": {"hub_url", "enrol_code", "site_id", "url"},
}


@dataclass(frozen=True)
class DistrictInput:
    """Enrol with a district hub once the network is up (vigil-district-enrol.service)."""

    hub_url: str
    enrol_code: str = field(repr=False)  # a one-time secret: never logged
    site_id: str | None = None  # None: the code's
    url: str | None = None  # None: https://<host name>:8443


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
    district: DistrictInput | None = None


def _table(r: Reader, raw: dict[str, Any], name: str, *, required: bool = False) -> dict[str, Any]:
    """A sub-table (empty when absent or not a table, the problem noted), its unknown keys noted."""
    value: dict[str, Any] = r.get(raw, "", name, dict, {}, required=required)
    r.table(value, name, _ALLOWED[name])
    return value


def _check_tls(r: Reader, cert: str | None, key: str | None) -> None:
    if (cert is None) != (key is None):
        r.problem("tls", "give both cert and key, or neither (a self-signed certificate is made)")
        return
    if cert is None or key is None:
        return
    try:
        x509.load_pem_x509_certificate(cert.encode())
    except ValueError:
        r.problem("tls.cert", "not a PEM certificate")
    try:
        serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        r.problem("tls.key", "not an unencrypted PEM private key")


def _check_signing(r: Reader, key: str | None) -> None:
    if key is None:
        return
    try:
        loaded = serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        r.problem("signing.key", "not an unencrypted PEM private key")
        return
    if not isinstance(loaded, ed25519.Ed25519PrivateKey):
        r.problem("signing.key", "must be an Ed25519 private key")


def _code_check(value: str) -> str | None:
    try:
        parse_enrol_code(value)
    except BadRequestError as error:
        return str(error)
    return None


def _district(r: Reader, raw: dict[str, Any]) -> DistrictInput | None:
    if "district" not in raw:
        return None
    table = _table(r, raw, "district")
    hub_url = r.get(table, "district", "hub_url", str, required=True,
                    check=lambda v: None if v.startswith("https://") else "must be an https:// URL")
    code = r.get(table, "district", "enrol_code", str, required=True, check=_code_check)
    site_id = r.get(table, "district", "site_id", str, check=id_check)
    url = r.get(table, "district", "url", str,
                check=lambda v: None if v.startswith(("https://", "http://")) else "must be an http(s) URL")
    if hub_url is None or code is None:
        return None
    return DistrictInput(hub_url.rstrip("/"), code, site_id, None if url is None else url.rstrip("/"))


def parse_provision_input(text: str, source: str) -> ProvisionInput:
    """Validate the whole document; raise ConfigError listing every problem (never a secret)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    r = Reader(Path(source))
    r.table(raw, "", _ALLOWED[""])
    site_id = r.get(raw, "", "site_id", str, required=True, check=id_check)
    building = _table(r, raw, "building", required=True)
    building_id = r.get(building, "building", "id", str, required=True, check=id_check)
    building_name = r.get(building, "building", "name", str) or building_id
    admin_name = r.get(_table(r, raw, "admin"), "admin", "name", str, "admin", check=id_check)
    tls = _table(r, raw, "tls")
    cert_pem = r.get(tls, "tls", "cert", str)
    key_pem = r.get(tls, "tls", "key", str)
    _check_tls(r, cert_pem, key_pem)
    signing_key = r.get(_table(r, raw, "signing"), "signing", "key", str)
    _check_signing(r, signing_key)
    options = _table(r, raw, "options")
    demo = r.get(options, "options", "demo_camera", bool, False)
    disk = r.get(options, "options", "recording_disk", bool, True)
    district = _district(r, raw)
    if r.problems:
        raise ConfigError("invalid provisioning input:\n  " + "\n  ".join(r.problems))
    assert site_id is not None and building_id is not None and building_name is not None
    return ProvisionInput(
        site_id=site_id, building_id=building_id, building_name=building_name, admin_name=admin_name,
        tls_cert_pem=None if cert_pem is None else cert_pem.encode(),
        tls_key_pem=None if key_pem is None else key_pem.encode(),
        signing_key_pem=None if signing_key is None else signing_key.encode(), demo_camera=demo,
        recording_disk=disk, district=district,
    )
