"""The appliance's side of the district (issue 17, design/district.md): what it keeps about the hub
it is enrolled with (`HubInfo`, the file `<storage>/keys/district/hub.json`), the enrolment request
it sends and the answer it takes, and the token policy a hub token is checked with. Pure: the files,
the keys and the network are district/enrol.py's.

The first contact with a hub cannot check the hub's TLS certificate (the appliance has no CA yet):
the answer's HMAC under the enrolment code (core.district.enrol_mac) is what says it comes from the
hub that printed the code, so `parse_enrol_answer` is only called on an answer whose MAC was checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vigil.core.district import SITE_ID, TokenPolicy
from vigil.core.errors import BadRequestError
from vigil.core.permissions import Role

MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class HubInfo:
    """hub.json: who this appliance is at the district, and whom it trusts for tokens."""

    hub_id: str
    hub_name: str
    hub_url: str
    token_public_key: str  # the hub's Ed25519 key, raw 32 bytes in base64 (district.tokens)
    site_id: str
    broker_host: str  # the district broker, as this site reaches it (the bridge dials it)
    broker_port: int


@dataclass(frozen=True)
class EnrolAnswer:
    info: HubInfo
    ca_pem: str  # the district CA: the hub's HTTPS and broker certificates chain to it
    cert_pem: str  # this site's client certificate (CN = site id)


_TEXTS = ("hub_id", "hub_name", "hub_url", "token_public_key", "site_id", "broker_host")


def _info(value: Mapping[str, Any], what: str) -> HubInfo:
    texts = {k: value.get(k) for k in _TEXTS}
    port = value.get("broker_port")
    bad = sorted(k for k, v in texts.items() if not isinstance(v, str) or not v)
    if bad:
        raise BadRequestError(f"{what}: {', '.join(bad)} missing or not text")
    if type(port) is not int or not 0 < port < 65536:
        raise BadRequestError(f"{what}: broker_port must be a port number")
    if not SITE_ID.fullmatch(str(texts["site_id"])):
        raise BadRequestError(f"{what}: site_id {texts['site_id']!r} is not a site id")
    if not str(texts["hub_url"]).startswith("https://"):
        raise BadRequestError(f"{what}: hub_url must be an https:// URL")
    return HubInfo(hub_id=str(texts["hub_id"]), hub_name=str(texts["hub_name"]),
                   hub_url=str(texts["hub_url"]).rstrip("/"), token_public_key=str(texts["token_public_key"]),
                   site_id=str(texts["site_id"]), broker_host=str(texts["broker_host"]), broker_port=port)


def hub_info_json(info: HubInfo) -> str:
    return json.dumps({"hub_id": info.hub_id, "hub_name": info.hub_name, "hub_url": info.hub_url,
                       "token_public_key": info.token_public_key, "site_id": info.site_id,
                       "broker_host": info.broker_host, "broker_port": info.broker_port}, indent=2) + "\n"


def parse_hub_info(text: str) -> HubInfo:
    try:
        value = json.loads(text)
    except ValueError:
        raise BadRequestError("hub.json is not JSON") from None
    if not isinstance(value, dict):
        raise BadRequestError("hub.json is not an object")
    return _info(value, "hub.json")


def enrol_request_body(code_id: str, site_id: str | None, csr_pem: str, url: str, evidence_key: str) -> bytes:
    """The body of `POST /api/enrol` (its MAC is over exactly these bytes); `site_id` None: the
    code's (the hub's answer names it)."""
    return json.dumps({"code_id": code_id, "site_id": site_id, "csr_pem": csr_pem, "url": url,
                       "evidence_key": evidence_key}, separators=(",", ":")).encode()


def parse_enrol_answer(body: bytes, site_id: str | None) -> EnrolAnswer:
    """The hub's (MAC-checked) answer; BadRequestError naming what is wrong. `site_id`: the one
    asked for, if any: the hub must not hand out another."""
    if len(body) > MAX_ANSWER_BYTES:
        raise BadRequestError("the hub's enrolment answer is too large")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequestError("the hub's enrolment answer is not JSON") from None
    if not isinstance(value, dict):
        raise BadRequestError("the hub's enrolment answer is not an object")
    info = _info(value, "the hub's enrolment answer")
    if site_id is not None and info.site_id != site_id:
        raise BadRequestError(f"the hub enrolled site {info.site_id!r}, not {site_id!r}")
    ca, cert = value.get("ca_pem"), value.get("cert_pem")
    if not isinstance(ca, str) or "BEGIN CERTIFICATE" not in ca or not isinstance(cert, str) or (
            "BEGIN CERTIFICATE" not in cert):
        raise BadRequestError("the hub's enrolment answer has no CA or site certificate")
    return EnrolAnswer(info, ca, cert)


def token_policy(info: HubInfo, max_role: Role, skew_s: float, max_lifetime_s: float) -> TokenPolicy:
    """What this appliance accepts: tokens of its hub, for its site id, within [district]'s limits."""
    return TokenPolicy(hub=info.hub_id, site=info.site_id, skew_s=skew_s, max_lifetime_s=max_lifetime_s,
                       max_role=max_role)
