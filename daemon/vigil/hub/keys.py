"""The hub's keys, made on its first start, owner-only under keys/, never replaced: the Ed25519 key
that signs hub tokens, the district CA (EC P-256) and what it signs: the hub's HTTPS certificate,
the district broker's, the hub's own MQTT client certificate (CN = HUB_MQTT_USER) and, at each
enrolment, a site's bridge certificate (CN = the site id, clientAuth, one year)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vigil.core.errors import BadRequestError, StorageError
from vigil.district.tokens import private_key_from_pem, private_key_pem
from vigil.hub.env import HUB_MQTT_USER, HubConfig, HubKeys
from vigil.record.storage import create_new_file

log = logging.getLogger(__name__)

SITE_CERT_DAYS = 365
SERVER_CERT_DAYS = 3650
CA_DAYS = 7300
MAX_CSR_BYTES = 16_384


def _write_new(path: Path, data: bytes) -> None:
    """Owner-only and never over an existing file (another start made it meanwhile: keep theirs)."""
    if not create_new_file(path, data, 0o600):
        log.info("kept the existing %s", path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise StorageError(f"{path}: not an EC private key")
    return key


def _alt_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):  # in order, once each
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _ensure_ca(keys_dir: Path, hub_name: str, now: dt.datetime) -> tuple[Path, Path]:
    cert_path, key_path = keys_dir / "ca.crt", keys_dir / "ca.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    if cert_path.exists() or key_path.exists():
        raise StorageError(f"{keys_dir}: one of ca.crt and ca.key is missing; restore it (a new CA would "
                           "orphan every site certificate)")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Vigil district CA ({hub_name})"[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Vigil district hub")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _write_new(key_path, _key_pem(key))
    _write_new(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    log.info("made the district CA %s (SHA-256 %s)", cert_path, cert.fingerprint(hashes.SHA256()).hex(":"))
    return cert_path, key_path


def _issue(ca_cert: Path, ca_key: Path, public_key: CertificatePublicKeyTypes,
           common_name: str, hosts: Sequence[str], usage: x509.ObjectIdentifier, now: dt.datetime,
           days: int) -> x509.Certificate:
    issuer = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
               .issuer_name(issuer.subject).public_key(public_key)
               .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer.public_key()), critical=False))  # type: ignore[arg-type]
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
    return builder.sign(_load_ec_key(ca_key), hashes.SHA256())


def _ensure_leaf(keys_dir: Path, stem: str, ca: tuple[Path, Path], common_name: str, hosts: Sequence[str],
                 usage: x509.ObjectIdentifier, now: dt.datetime) -> tuple[Path, Path]:
    cert_path, key_path = keys_dir / f"{stem}.crt", keys_dir / f"{stem}.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(ca[0], ca[1], key.public_key(), common_name, hosts, usage, now, SERVER_CERT_DAYS)
    key_path.unlink(missing_ok=True)  # half a pair (a crash between the two writes): make both anew
    cert_path.unlink(missing_ok=True)
    _write_new(key_path, _key_pem(key))
    _write_new(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    log.info("made %s for %s", cert_path, common_name)
    return cert_path, key_path


def _ensure_token_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        _write_new(path, private_key_pem(Ed25519PrivateKey.generate()))
        log.info("made the hub token key %s", path)
    try:
        return private_key_from_pem(path.read_bytes())
    except ValueError as error:
        raise StorageError(f"{path}: {error}") from None


def ensure_hub_keys(config: HubConfig, now: dt.datetime) -> HubKeys:
    """The hub's keys, made where absent; an existing key or certificate is never replaced."""
    keys_dir = config.keys_dir
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys_dir.chmod(0o700)
    token_key = _ensure_token_key(keys_dir / "token.key")
    ca = _ensure_ca(keys_dir, config.name, now)
    public_host = urlsplit(config.public_url).hostname or "localhost"
    https = _ensure_leaf(keys_dir, "https", ca, public_host, [public_host, "localhost", "127.0.0.1"],
                         ExtendedKeyUsageOID.SERVER_AUTH, now)
    broker = _ensure_leaf(keys_dir, "broker", ca, config.broker_host, [config.broker_host, "localhost", "127.0.0.1"],
                          ExtendedKeyUsageOID.SERVER_AUTH, now)
    client = _ensure_leaf(keys_dir, "hub-client", ca, HUB_MQTT_USER, [], ExtendedKeyUsageOID.CLIENT_AUTH, now)
    return HubKeys(token_key=token_key, ca_cert=ca[0], ca_key=ca[1], https_cert=https[0], https_key=https[1],
                   broker_cert=broker[0], broker_key=broker[1], client_cert=client[0], client_key=client[1])


def sign_site_csr(keys: HubKeys, csr_pem: str, site_id: str, now: dt.datetime) -> str:
    """A site's bridge certificate from its CSR: CN forced to `site_id` (the subject asked for is
    ignored), clientAuth, one year. A CSR whose signature does not verify (its sender does not hold
    the key) is refused."""
    if len(csr_pem) > MAX_CSR_BYTES:
        raise BadRequestError("csr_pem is too large")
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError:
        raise BadRequestError("csr_pem is not a PEM certificate signing request") from None
    try:
        if not csr.is_signature_valid:
            raise BadRequestError("csr_pem's signature does not verify")
    except InvalidSignature:
        raise BadRequestError("csr_pem's signature does not verify") from None
    cert = _issue(keys.ca_cert, keys.ca_key, csr.public_key(), site_id, [], ExtendedKeyUsageOID.CLIENT_AUTH, now,
                  SITE_CERT_DAYS)
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def cert_facts(cert_pem: str) -> tuple[str, dt.datetime]:
    """(serial in hex, not after) of a certificate."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    return format(cert.serial_number, "x"), cert.not_valid_after_utc


def server_context(keys: HubKeys) -> ssl.SSLContext:
    """The hub's HTTPS: its certificate; a client certificate is asked for but optional (only
    `/api/site/tokens` needs one) and, when sent, must chain to the district CA."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(keys.https_cert, keys.https_key)
    ctx.load_verify_locations(cafile=str(keys.ca_cert))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def peer_common_name(peercert: object) -> str | None:
    """The CN of a verified peer certificate as `ssl.SSLSocket.getpeercert()` gives it."""
    if not isinstance(peercert, dict):
        return None
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None
