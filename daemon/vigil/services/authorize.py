"""The per-item permission decision of a service, with the denial audited.

core.permissions decides; this shell writes the denial to the audit log (in its own transaction:
nothing else happens on a denied request) and raises PermissionDeniedError (HTTP 403). The CLI
and the daemon's workers act as the appliance and are not checked here (their authority is the
Unix account, which the audit log names)."""

from __future__ import annotations

from vigil.core.errors import PermissionDeniedError
from vigil.core.permissions import Action, Target, decide
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import append_in


def describe(target: Target) -> str:
    """The audit log's name for a permission target."""
    if target.camera:
        return f"camera:{target.camera}"
    if target.building:
        return f"building:{target.building}"
    return "appliance"


def denial_or_none(caller: Caller, action: Action, target: Target) -> str | None:
    """Why the caller may not, or None if they may (the appliance's own callers always may)."""
    if caller.is_appliance:
        return None
    decision = decide(caller.require_subject(), action, target, caller.now_ns)
    return None if decision.allowed else decision.reason


def audit_denial_sync(env: ServiceEnv, caller: Caller, action: str, target: str, reason: str) -> None:
    with env.index.transaction() as c:
        append_in(c, caller.now_ns, caller.actor, action, target, "denied", caller.audit_detail({"reason": reason}))


def require_sync(env: ServiceEnv, caller: Caller, action: Action, target: Target) -> None:
    """On a database thread (inside a service's `env.run` function): decide, audit a denial, raise."""
    reason = denial_or_none(caller, action, target)
    if reason is not None:
        audit_denial_sync(env, caller, action.value, describe(target), reason)
        raise PermissionDeniedError(f"not allowed: {reason}")


async def require(env: ServiceEnv, caller: Caller, action: Action, target: Target) -> None:
    """On the loop: the decision is pure; only a denial's audit entry goes to a database thread."""
    reason = denial_or_none(caller, action, target)
    if reason is not None:
        await env.run(lambda: audit_denial_sync(env, caller, action.value, describe(target), reason))
        raise PermissionDeniedError(f"not allowed: {reason}")
