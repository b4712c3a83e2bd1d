"""Sites at the hub: one-time enrolment codes, the enrolment exchange, the list a user sees and
removing a site. Enrolment (core/district.py): the appliance sends the code's id in clear and an
HMAC of its request under the code's secret; the hub checks it, signs the site's CSR (CN = the
code's site id) and answers with an HMAC of its answer. A code works once: the use, the site and
the `hub.enrol` entry commit together, so a replayed request finds it used (refused, audited).
Enrolling or removing a site rewrites the broker's ACL."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from vigil.core.district import (
    ENROL_ANSWER,
    ENROL_REQUEST,
    SITE_ID,
    EnrolCode,
    enrol_mac,
    enrol_mac_ok,
    make_enrol_code,
    site_state,
)
from vigil.core.errors import BadRequestError, ConflictError, NotFoundError, PermissionDeniedError
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.district.tokens import public_key_text
from vigil.hub.audit import audit_alone
from vigil.hub.broker_conf import reload_broker
from vigil.hub.env import HUB_MQTT_USER, HubEnv
from vigil.hub.keys import cert_facts, sign_site_csr
from vigil.store import hub_sites
from vigil.store.audit_log import append_in

MAX_URL_CHARS = 2048
MAX_CODE_HOURS = 720.0


def _iso(ns: int | None) -> str | None:
    return None if ns is None else wall_ns_to_iso(ns)


def check_site_id(site_id: str) -> None:
    if not SITE_ID.fullmatch(site_id):
        raise BadRequestError("a site id is 1-63 lowercase letters, digits, '-' and '_'")
    if site_id == HUB_MQTT_USER:  # the hub's own broker user: a site by that name would read every topic
        raise BadRequestError(f"{HUB_MQTT_USER!r} is the hub's own name at the broker, not a site id")


@dataclass(frozen=True)
class NewCode:
    code: EnrolCode  # printed once, never logged
    site_id: str
    expires_ns: int


def create_enrol_code(env: HubEnv, actor: str, site_id: str, name: str, now_ns: int, hours: float | None = None
                      ) -> NewCode:
    """A one-time code for enrolling `site_id`, expiring after `hours` (default: enrol_code_hours)
    (blocking; `await env.run(...)`). Audited `hub.enrol_code` with the code's id, never its secret."""
    check_site_id(site_id)
    name = name.strip()
    if not name or len(name) > 200:
        raise BadRequestError("a site name is 1-200 characters")
    hours = env.config.enrol_code_hours if hours is None else hours
    if not 0 < hours <= MAX_CODE_HOURS:
        raise BadRequestError(f"an enrolment code lives more than 0 and at most {MAX_CODE_HOURS:g} hours")
    expires_ns = now_ns + round(hours * 3600 * NS_PER_SECOND)
    with env.db.transaction() as c:
        site = hub_sites.site_in(c, site_id)
        if site is not None and site.enrolled_ns is not None and site.removed_ns is None:
            raise ConflictError(f"site {site_id} is enrolled; remove it first to enrol it again")
        while True:
            code = make_enrol_code(secrets.token_bytes(15))
            if hub_sites.insert_code_in(c, code.code_id, code.secret, site_id, name, actor, now_ns, expires_ns):
                break
        append_in(c, now_ns, actor, "hub.enrol_code", f"site:{site_id}", "ok",
                  {"code_id": code.code_id, "name": name, "expires_ns": expires_ns})
    return NewCode(code, site_id, expires_ns)


@dataclass(frozen=True)
class EnrolAnswer:
    body: bytes  # the exact bytes the MAC covers
    mac: str


def _refuse(env: HubEnv, now_ns: int, remote: str | None, code_id: str, site_id: object, reason: str) -> None:
    audit_alone(env, now_ns, "anonymous", "hub.enrol", f"site:{site_id}", "denied",
                {"code_id": code_id, "remote": remote, "reason": reason})
    raise PermissionDeniedError(f"enrolment refused: {reason}")


def _body(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise BadRequestError("the enrolment request is not JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("code_id"), str):
        raise BadRequestError("the enrolment request is a JSON object with code_id")
    return value


def _checked_fields(body: dict[str, Any]) -> tuple[str, str, str | None]:
    csr, url, evidence_key = body.get("csr_pem"), body.get("url"), body.get("evidence_key")
    if not isinstance(csr, str):
        raise BadRequestError("csr_pem must be a PEM string")
    parts = urlsplit(url) if isinstance(url, str) else None
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS or parts is None or parts.scheme != "https" \
            or not parts.hostname:
        raise BadRequestError("url must be the appliance's https:// base URL")
    if evidence_key is not None and (not isinstance(evidence_key, str) or len(evidence_key) > 1000):
        raise BadRequestError("evidence_key must be a string (the appliance's evidence public key) or null")
    return csr, url.rstrip("/"), evidence_key


def _enrol_in(c: sqlite3.Connection, code_row: hub_sites.CodeRow, url: str, serial: str, not_after: dt.datetime,
              evidence_key: str | None, remote: str | None, now_ns: int) -> None:
    site_id = code_row.site_id
    hub_sites.enrol_site_in(c, site_id, code_row.site_name, url, serial, round(not_after.timestamp()) * NS_PER_SECOND,
                            evidence_key, now_ns)
    append_in(c, now_ns, f"site:{site_id}", "hub.enrol", f"site:{site_id}", "ok",
              {"code_id": code_row.code_id, "url": url, "cert_serial": serial, "remote": remote,
               "created_by": code_row.created_by})


def enrol(env: HubEnv, raw: bytes, mac: str, remote: str | None, now_ns: int) -> EnrolAnswer:
    """The enrolment exchange (blocking; `await env.run(...)`): refusals are audited and raised as
    PermissionDeniedError naming why (unknown code, wrong MAC, already used, expired, other site)."""
    body = _body(raw)
    code_id, site_id = str(body["code_id"]), body.get("site_id")
    code_row = hub_sites.get_code(env.db, code_id)
    if code_row is None:
        _refuse(env, now_ns, remote, code_id, site_id, "unknown enrolment code")
    assert code_row is not None
    code = EnrolCode(code_row.code_id, code_row.secret)
    if not enrol_mac_ok(code, ENROL_REQUEST, raw, mac):
        _refuse(env, now_ns, remote, code_id, site_id, "wrong MAC: the request was not made with this code")
    if code_row.used_ns is not None:
        _refuse(env, now_ns, remote, code_id, site_id, "the enrolment code was already used")
    if code_row.expires_ns <= now_ns:
        _refuse(env, now_ns, remote, code_id, site_id, "the enrolment code expired")
    if site_id is not None and site_id != code_row.site_id:  # none given: the code's (`--site-id` is optional)
        _refuse(env, now_ns, remote, code_id, site_id, "the enrolment code is for another site id")
    csr, url, evidence_key = _checked_fields(body)
    now = dt.datetime.fromtimestamp(now_ns / NS_PER_SECOND, dt.UTC)
    cert_pem = sign_site_csr(env.keys, csr, code_row.site_id, now)
    serial, not_after = cert_facts(cert_pem)
    with env.db.transaction() as c:
        current = hub_sites.site_in(c, code_row.site_id)
        # Two codes made for one site before either was used: the second must not take the
        # first's place (its certificate would stop working); that takes a removal at the hub.
        enrolled_already = current is not None and current.enrolled_ns is not None and current.removed_ns is None
        if not enrolled_already:
            if not hub_sites.use_code_in(c, code_id, now_ns):
                raise PermissionDeniedError("enrolment refused: the enrolment code was already used")
            _enrol_in(c, code_row, url, serial, not_after, evidence_key, remote, now_ns)
        sites = hub_sites.active_site_ids_in(c)
    if enrolled_already:
        _refuse(env, now_ns, remote, code_id, site_id, f"site {code_row.site_id} is enrolled already: remove it at "
                "the hub first")
    reload_broker(env.config, sites)
    answer = json.dumps({
        "hub_id": env.config.hub_id, "hub_name": env.config.name, "hub_url": env.config.public_url,
        "token_public_key": public_key_text(env.keys.token_key.public_key()),
        "ca_pem": env.keys.ca_cert.read_text(), "cert_pem": cert_pem,
        "broker_host": env.config.broker_host, "broker_port": env.config.broker_port,
        "site_id": code_row.site_id,
    }, separators=(",", ":")).encode()
    return EnrolAnswer(answer, enrol_mac(code, ENROL_ANSWER, answer))


def site_json(site: hub_sites.SiteRow, now_ns: int, silent_after_s: float) -> dict[str, Any]:
    state = site_state(site.bridge_up, site.bridge_changed_ns, site.last_message_ns, now_ns, silent_after_s)
    return {"id": site.id, "name": site.name, "url": site.url, "enrolled_at": _iso(site.enrolled_ns),
            "removed_at": _iso(site.removed_ns), "reachability": state.reachability.value,
            "since": _iso(state.since_ns), "reason": state.reason, "health": site.health,
            "inventory": site.inventory}


def list_sites(env: HubEnv, visible: frozenset[str] | None, now_ns: int) -> list[dict[str, Any]]:
    """The enrolled sites (removed ones too, marked), only those in `visible` unless None (all)."""
    return [site_json(s, now_ns, env.config.silent_after_s) for s in hub_sites.list_sites(env.db)
            if s.enrolled_ns is not None and (visible is None or s.id in visible)]


def remove_site(env: HubEnv, actor: str, site_id: str, now_ns: int) -> dict[str, Any]:
    """Remove a site (blocking): out of the broker's ACL, no more tokens for it. Its row and
    messages stay for the record."""
    with env.db.transaction() as c:
        site = hub_sites.site_in(c, site_id)
        if site is None or site.enrolled_ns is None:
            raise NotFoundError(f"no site {site_id!r}")
        if not hub_sites.remove_site_in(c, site_id, now_ns):
            raise ConflictError(f"site {site_id} was removed already")
        append_in(c, now_ns, actor, "hub.site.remove", f"site:{site_id}", "ok", {"cert_serial": site.cert_serial})
        sites = hub_sites.active_site_ids_in(c)
        removed = hub_sites.site_in(c, site_id)
    reload_broker(env.config, sites)
    assert removed is not None
    return site_json(removed, now_ns, env.config.silent_after_s)


def active_sites(env: HubEnv) -> list[str]:
    """The sites the broker's ACL lists (enrolled, not removed)."""
    return hub_sites.active_site_ids(env.db)
