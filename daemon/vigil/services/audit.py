"""Reading the audit log (filtered, oldest first) and verifying its hash chain. Both need
`view_audit` (district admins; the appliance's own callers always may)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.core.audit_chain import AuditEntry, ChainCheck
from vigil.core.permissions import Action, Target
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import append_in

__all__ = ["AuditEntry", "AuditQuery", "ChainCheck", "entries", "record", "verify"]

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class AuditQuery:
    start_ns: int | None = None  # wall clock, inclusive
    end_ns: int | None = None  # exclusive
    actor: str | None = None  # exact
    action: str | None = None  # exact
    limit: int = 1000  # 1..MAX_ENTRIES
    newest_first: bool = False  # the newest `limit` entries, newest first (the web page's view)


async def entries(env: ServiceEnv, caller: Caller, query: AuditQuery) -> list[AuditEntry]:
    await require(env, caller, Action.VIEW_AUDIT, Target())
    return await env.run(lambda: env.audit.entries(query.start_ns, query.end_ns, query.actor, query.action,
                                                   query.limit, query.newest_first))


async def verify(env: ServiceEnv, caller: Caller) -> ChainCheck:
    """Every entry's hash and link to the one before (core.audit_chain): the first broken one."""
    await require(env, caller, Action.VIEW_AUDIT, Target())
    return await env.run(env.audit.verify)


async def record(env: ServiceEnv, caller: Caller, action: str, target: str, outcome: str = "ok",
                 detail: dict[str, Any] | None = None) -> None:
    """An entry for what the caller did that changed nothing else (a view, a download, a link's
    use): on a database thread, with how the caller came (`Caller.audit_detail`)."""
    def write() -> None:
        with env.index.transaction() as c:
            append_in(c, caller.now_ns, caller.actor, action, target, outcome, caller.audit_detail(detail))

    await env.run(write)
