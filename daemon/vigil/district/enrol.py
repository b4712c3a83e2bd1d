"""Enrolling this appliance with a district hub (design/district.md), the I/O half of
services/enrolment.py: a new EC P-256 key and CSR, the request with its HMAC, the answer taken
only if its HMAC proves the hub holds the same one-time code (the first contact cannot check the
hub's TLS: the appliance has no CA yet), the certificate checked against the CA and our key,
then the files written (district/state.py) and the mosquitto bridge configuration.

The bridge runs in mosquitto, which cannot read the daemon's key directory: it gets copies of the
CA, the certificate and the key beside its configuration (`<conf dir>/vigil-district/`, the key
0600 and, when run as root, owned by the `mosquitto` user). mosquitto reads a bridge at start, so
after enrolling it is restarted (`systemctl restart mosquitto`)."""

from __future__ import annotations

import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vigil.core.district import (
    ENROL_ANSWER,
    ENROL_REQUEST,
    BridgeSettings,
    bridge_conf,
    enrol_mac,
    enrol_mac_ok,
    parse_enrol_code,
)
from vigil.core.district_site import EnrolAnswer, enrol_request_body, parse_enrol_answer
from vigil.core.errors import BadRequestError, PermissionDeniedError, UnavailableError
from vigil.district.hub_client import post_enrol, problem_detail
from vigil.district.state import DistrictFiles, write_enrolment, write_text_file
from vigil.district.tokens import public_key_from_text
from vigil.exports.signing import ensure_signing_key, public_info, signing_key_path

BRIDGE_FILES_DIR = "vigil-district"
MOSQUITTO_USER = "mosquitto"
RESTART_HINT = "restart mosquitto to start the bridge: systemctl restart mosquitto"


@dataclass(frozen=True)
class SiteKey:
    key_pem: bytes
    csr_pem: str


def new_site_key(site_id: str | None) -> SiteKey:
    """An EC P-256 key and a CSR for it (the hub ignores the subject: the CN will be the site id)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, site_id or "vigil-site")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return SiteKey(key_pem, csr.public_bytes(serialization.Encoding.PEM).decode())


def evidence_key(storage_path: Path) -> str:
    """This appliance's evidence signing key (raw, base64): the hub checks pulled exports with it.
    Made here if the daemon has not made it yet, then (when run as root, e.g. by the first-boot
    enrolment) given to the daemon's account, as the daemon would have made it."""
    path = signing_key_path(storage_path)
    made_here = not path.exists()
    key = ensure_signing_key(path)
    if made_here and os.geteuid() == 0:
        uid, gid = _owner_of(storage_path)
        for made in (path.parent, path):
            os.chown(made, uid, gid)
    return public_info(key.public_key()).raw_base64


async def exchange(hub_url: str, code_text: str, site_id: str | None, url: str, site_key: SiteKey,
                   evidence: str) -> EnrolAnswer:
    """Send the request; the answer if its MAC is right, else BadRequestError/PermissionDeniedError
    naming why (nothing is written here)."""
    code = parse_enrol_code(code_text)
    body = enrol_request_body(code.code_id, site_id, site_key.csr_pem, url, evidence)
    reply = await post_enrol(hub_url, body, enrol_mac(code, ENROL_REQUEST, body))
    if reply.status != 200:
        detail = problem_detail(reply.body) or f"HTTP {reply.status}"
        if reply.status in (401, 403):
            raise PermissionDeniedError(f"the hub refused the enrolment: {detail}")
        raise UnavailableError(f"the hub could not enrol this appliance: {detail}")
    if not reply.mac or not enrol_mac_ok(code, ENROL_ANSWER, reply.body, reply.mac):
        raise PermissionDeniedError("the answer does not carry the enrolment code's MAC: it is not from the hub "
                                    "that printed this code (nothing was written)")
    answer = parse_enrol_answer(reply.body, site_id)
    check_answer(answer, site_key)
    return answer


def check_answer(answer: EnrolAnswer, site_key: SiteKey) -> None:
    """The certificate is for our key, names the site and is signed by the CA; the token key parses."""
    try:
        ca = x509.load_pem_x509_certificate(answer.ca_pem.encode())
        cert = x509.load_pem_x509_certificate(answer.cert_pem.encode())
        key = serialization.load_pem_private_key(site_key.key_pem, password=None)
        public_key_from_text(answer.info.token_public_key)
    except ValueError as error:
        raise BadRequestError(f"the hub's enrolment answer is malformed: {error}") from None
    ours = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    theirs = cert.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    if ours != theirs:
        raise BadRequestError("the hub's certificate is not for this appliance's key")
    names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [answer.info.site_id]:
        raise BadRequestError(f"the hub's certificate names {names}, not site {answer.info.site_id!r}")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise BadRequestError("the hub's certificate is not signed by the district CA it sent") from None


def _owner_of(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid


def write_site_files(files: DistrictFiles, storage_path: Path, answer: EnrolAnswer, site_key: SiteKey) -> None:
    """The key, certificates and hub.json, owned (when run as root) by the storage directory's owner,
    the daemon's account."""
    write_enrolment(files, answer, site_key.key_pem)
    if os.geteuid() == 0:
        uid, gid = _owner_of(storage_path)
        for path in (files.dir, files.key, files.cert, files.ca, files.hub_json):
            os.chown(path, uid, gid)


def bridge_dir(conf_path: Path) -> Path:
    return conf_path.parent / BRIDGE_FILES_DIR


def write_bridge(conf_path: Path, files: DistrictFiles, answer: EnrolAnswer) -> None:
    """mosquitto's copies of the CA, certificate and key, then the bridge configuration naming them."""
    where = bridge_dir(conf_path)
    where.mkdir(parents=True, exist_ok=True, mode=0o750)
    copies = {name: where / name for name in ("ca.crt", "site.crt", "site.key")}
    for source, name in ((files.ca, "ca.crt"), (files.cert, "site.crt"), (files.key, "site.key")):
        write_text_file(copies[name], source.read_text(encoding="utf-8"))
    copies["site.key"].chmod(0o600)
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(MOSQUITTO_USER)
        except KeyError:
            account = None
        if account is not None:
            for path in (where, *copies.values()):
                os.chown(path, account.pw_uid, account.pw_gid)
    settings = BridgeSettings(answer.info.site_id, answer.info.broker_host, answer.info.broker_port,
                              str(copies["ca.crt"]), str(copies["site.crt"]), str(copies["site.key"]))
    write_text_file(conf_path, bridge_conf(settings))


def remove_bridge(conf_path: Path) -> list[Path]:
    removed = []
    if conf_path.exists():
        conf_path.unlink()
        removed.append(conf_path)
    where = bridge_dir(conf_path)
    if where.exists():
        shutil.rmtree(where)
        removed.append(where)
    return removed
