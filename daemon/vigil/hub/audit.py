"""Audit entries of the hub that record no change of their own: a denied request, a refused
enrolment or sign-in. A change and its entry commit together where the change is made
(store.audit_log.append_in inside that transaction)."""

from __future__ import annotations

from vigil.hub.env import HubEnv
from vigil.store.audit_log import append_in


def audit_alone(env: HubEnv, now_ns: int, actor: str, action: str, target: str, outcome: str,
                detail: dict[str, object] | None = None) -> None:
    """Blocking: on a database thread (`await env.run(...)`) or in a CLI."""
    with env.db.transaction() as c:
        append_in(c, now_ns, actor, action, target, outcome, detail or {})


async def audit(env: HubEnv, now_ns: int, actor: str, action: str, target: str, outcome: str,
                detail: dict[str, object] | None = None) -> None:
    await env.run(lambda: audit_alone(env, now_ns, actor, action, target, outcome, detail))
