"""Reading the audit log (filtered, oldest first) and verifying its hash chain. Both need
`view_audit` (district admins; the appliance's own callers always may)."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.audit_chain import AuditEntry, ChainCheck
from vigil.core.permissions import Action, Target
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv

__all__ = ["AuditEntry", "AuditQuery", "ChainCheck", "entries", "verify"]

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class AuditQuery:
    start_ns: int | None = None  # wall clock, inclusive
    end_ns: int | None = None  # exclusive
    actor: str | None = None  # exact
    action: str | None = None  # exact
    limit: int = 1000  # 1..MAX_ENTRIES


async def entries(env: ServiceEnv, caller: Caller, query: AuditQuery) -> list[AuditEntry]:
    await require(env, caller, Action.VIEW_AUDIT, Target())
    return await env.run(lambda: env.audit.entries(query.start_ns, query.end_ns, query.actor, query.action,
                                                   query.limit))


async def verify(env: ServiceEnv, caller: Caller) -> ChainCheck:
    """Every entry's hash and link to the one before (core.audit_chain): the first broken one."""
    await require(env, caller, Action.VIEW_AUDIT, Target())
    return await env.run(env.audit.verify)
