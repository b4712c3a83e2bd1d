"""Enrolling this appliance with a district hub and leaving it (issue 17, design/district.md): one
use case for `vigil district enroll|leave` and the first-boot provisioning. The exchange and the
files are district/enrol.py's; this decides, and audits (`district.enroll`, `district.leave`,
failures too, never the code).

An appliance is enrolled with at most one hub. A failed enrolment writes nothing. A bridge
configuration that cannot be written (no mosquitto here, no permission) does not undo the
enrolment (the code is spent by then): the result says what failed, and `vigil district status`
shows it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from vigil.core.district_site import HubInfo
from vigil.core.errors import BadRequestError, ConflictError, PermissionDeniedError, UnavailableError
from vigil.core.permissions import Action, Target
from vigil.district import enrol
from vigil.district.state import district_files, remove_enrolment
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.district import enrolment
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import append_in
from vigil.store.district import revoke_hub_sessions_in


@dataclass(frozen=True)
class EnrolRequest:
    hub_url: str
    code: str  # as typed; never logged nor audited
    site_id: str | None = None  # None: the code's
    url: str | None = None  # how browsers reach this appliance; None: [district] or [http] public_url


@dataclass(frozen=True)
class Enrolled:
    info: HubInfo
    bridge_conf: Path
    bridge_error: str | None  # why the bridge configuration could not be written, or None
    next_step: str  # what the installer does next (restart mosquitto)


def appliance_url(env: ServiceEnv, given: str | None) -> str:
    url = given or env.config.district.public_url or env.config.http.public_url
    if not url:
        raise BadRequestError("say how browsers reach this appliance: --url https://... (or [district] public_url)")
    if not url.startswith(("https://", "http://")):
        raise BadRequestError(f"{url!r} is not an http(s) URL")
    return url.rstrip("/")


def _audit(env: ServiceEnv, caller: Caller, action: str, outcome: str, detail: dict[str, object],
           end_hub_sessions: bool = False) -> None:
    with env.index.transaction() as c:
        if end_hub_sessions:  # granted by a hub this appliance no longer trusts
            detail = {**detail, "sessions_ended": revoke_hub_sessions_in(c, caller.now_ns)}
        append_in(c, caller.now_ns, caller.actor, action, "district", outcome, caller.audit_detail(detail))


async def enroll(env: ServiceEnv, caller: Caller, req: EnrolRequest) -> Enrolled:
    await require(env, caller, Action.MANAGE_USERS, Target())
    if not req.hub_url.startswith("https://"):
        raise BadRequestError("the hub's URL must be https://")
    existing = await env.run(lambda: enrolment(env))
    if existing is not None:
        raise ConflictError(f"already enrolled with hub {existing.info.hub_name!r} ({existing.info.hub_url}) as site "
                            f"{existing.info.site_id!r}: `vigil district leave` first")
    url = appliance_url(env, req.url)
    storage = env.config.storage.path
    site_key = await asyncio.to_thread(enrol.new_site_key, req.site_id)
    evidence = await asyncio.to_thread(enrol.evidence_key, storage)
    try:
        answer = await enrol.exchange(req.hub_url, req.code, req.site_id, url, site_key, evidence)
    except (BadRequestError, PermissionDeniedError, UnavailableError) as error:
        reason = str(error)
        await env.run(lambda: _audit(env, caller, "district.enroll", "failed",
                                     {"hub_url": req.hub_url, "reason": reason}))
        raise
    files = district_files(storage)
    await asyncio.to_thread(enrol.write_site_files, files, storage, answer, site_key)
    conf = env.config.district.bridge_conf_path
    bridge_error = None
    try:
        await asyncio.to_thread(enrol.write_bridge, conf, files, answer)
    except OSError as error:
        bridge_error = f"cannot write {conf}: {error.strerror or error}"
    info = answer.info
    await env.run(lambda: _audit(env, caller, "district.enroll", "ok", {
        "hub_id": info.hub_id, "hub_name": info.hub_name, "hub_url": info.hub_url, "site_id": info.site_id,
        "url": url, "bridge_conf": str(conf), "bridge_error": bridge_error}))
    return Enrolled(info, conf, bridge_error, enrol.RESTART_HINT)


async def leave(env: ServiceEnv, caller: Caller) -> list[Path]:
    """Forget the hub: its files and the bridge configuration (ConflictError if not enrolled), and
    end the sessions its tokens started (the credential watcher ends their live views at its next
    check). The hub keeps the site until `vigil hub site remove` there."""
    await require(env, caller, Action.MANAGE_USERS, Target())
    existing = await env.run(lambda: enrolment(env))
    if existing is None:
        raise ConflictError("this appliance is not enrolled with a district hub")
    files = district_files(env.config.storage.path)
    removed = await asyncio.to_thread(remove_enrolment, files)
    removed += await asyncio.to_thread(enrol.remove_bridge, env.config.district.bridge_conf_path)
    info = existing.info
    await env.run(lambda: _audit(env, caller, "district.leave", "ok", {
        "hub_id": info.hub_id, "hub_url": info.hub_url, "site_id": info.site_id,
        "removed": [str(p) for p in removed]}, end_hub_sessions=True))
    return removed
