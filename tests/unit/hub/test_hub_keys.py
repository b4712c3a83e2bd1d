"""The hub's keys: made once, owner-only, never replaced; certificates checked with openssl; a
site's CSR signed with its CN forced to the site id, refused when its signature does not verify."""

from __future__ import annotations

import datetime as dt
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vigil.core.errors import BadRequestError
from vigil.district.tokens import public_key_text
from vigil.hub.env import HubConfig, HubKeys
from vigil.hub.keys import ensure_hub_keys, sign_site_csr

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)


def _config(tmp_path: Path) -> HubConfig:
    return HubConfig(hub_id="district", name="Test", data_dir=tmp_path, public_url="https://hub.example:9443",
                     broker_host="mqtt.example")


def _openssl_verify(ca: Path, cert: Path, purpose: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", "verify", "-CAfile", str(ca), "-purpose", purpose, str(cert)],
                          capture_output=True, text=True, check=False)


def _files(keys: HubKeys) -> list[Path]:
    return [keys.ca_cert, keys.ca_key, keys.https_cert, keys.https_key, keys.broker_cert, keys.broker_key,
            keys.client_cert, keys.client_key, keys.ca_cert.parent / "token.key"]


def test_keys_are_made_once_owner_only_and_never_replaced(tmp_path: Path) -> None:
    keys = ensure_hub_keys(_config(tmp_path), NOW)
    before = {p: p.read_bytes() for p in _files(keys)}
    assert stat.S_IMODE(keys.ca_cert.parent.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in before)
    again = ensure_hub_keys(_config(tmp_path), NOW + dt.timedelta(days=1))
    assert {p: p.read_bytes() for p in _files(again)} == before
    assert public_key_text(again.token_key.public_key()) == public_key_text(keys.token_key.public_key())


def test_the_certificates_chain_to_the_district_ca(tmp_path: Path) -> None:
    keys = ensure_hub_keys(_config(tmp_path), dt.datetime.now(dt.UTC))
    assert _openssl_verify(keys.ca_cert, keys.https_cert, "sslserver").returncode == 0
    assert _openssl_verify(keys.ca_cert, keys.broker_cert, "sslserver").returncode == 0
    assert _openssl_verify(keys.ca_cert, keys.client_cert, "sslclient").returncode == 0
    assert _openssl_verify(keys.ca_cert, keys.https_cert, "sslclient").returncode != 0  # servers are not clients
    https = x509.load_pem_x509_certificate(keys.https_cert.read_bytes())
    names = https.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["hub.example", "localhost"]
    broker = x509.load_pem_x509_certificate(keys.broker_cert.read_bytes())
    assert "mqtt.example" in broker.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    client = x509.load_pem_x509_certificate(keys.client_cert.read_bytes())
    assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "hub"


def _csr(common_name: str) -> x509.CertificateSigningRequest:
    key = ec.generate_private_key(ec.SECP256R1())
    return (x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .sign(key, hashes.SHA256()))


def test_a_site_certificate_has_the_site_id_for_cn_and_lasts_a_year(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    keys = ensure_hub_keys(_config(tmp_path), now)
    pem = sign_site_csr(keys, _csr("hub").public_bytes(serialization.Encoding.PEM).decode(), "school1", now)
    cert = x509.load_pem_x509_certificate(pem.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "school1"
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.not_valid_after_utc - now == dt.timedelta(days=365)
    (tmp_path / "site.crt").write_text(pem)
    assert _openssl_verify(keys.ca_cert, tmp_path / "site.crt", "sslclient").returncode == 0


def test_a_csr_whose_signature_does_not_verify_is_refused(tmp_path: Path) -> None:
    keys = ensure_hub_keys(_config(tmp_path), NOW)
    der = bytearray(_csr("school1").public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the signature
    forged = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM).decode()
    with pytest.raises(BadRequestError, match="signature does not verify"):
        sign_site_csr(keys, forged, "school1", NOW)
    with pytest.raises(BadRequestError, match="not a PEM"):
        sign_site_csr(keys, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                      "school1", NOW)
