"""Responder links: create (with a reason), list, revoke, and open (the landing page's redemption).

Creating or revoking a link needs `manage_links` on every camera and building it names (and, for a
link that grants talking, `talk` there too: no one hands out more than they hold); the list
holds only the links the caller could revoke. Responder links cannot manage links. Each change
commits in one transaction with its audit entry."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from vigil.config import Config
from vigil.core.errors import AuthenticationError, PermissionDeniedError
from vigil.core.links import LINK_PREFIX, LinkGrant
from vigil.core.permissions import Action, LinkSubject, Target, decide
from vigil.core.timebase import wall_ns_to_iso
from vigil.services.authorize import require
from vigil.services.caller import Caller, Via
from vigil.services.env import ServiceEnv
from vigil.store import accounts as store
from vigil.store.accounts import LinkRow
from vigil.store.audit_log import append_in

__all__ = ["CreatedLink", "LinkRow", "create_link", "grant_detail", "list_links", "open_link", "revoke_link"]


@dataclass(frozen=True)
class CreatedLink:
    link: LinkRow
    token: str  # shown once (in the URL), stored only as its SHA-256


def _iso(ns: int | None) -> str | None:
    return None if ns is None else wall_ns_to_iso(ns)


def grant_detail(grant: LinkGrant) -> dict[str, Any]:
    """What a link grants, for its audit entry (the links table itself is not tamper-evident)."""
    return {"reason": grant.reason, "cameras": list(grant.cameras), "buildings": list(grant.buildings),
            "live": grant.live, "playback": grant.playback, "playback_start": _iso(grant.playback_start_ns),
            "playback_end": _iso(grant.playback_end_ns), "expires_at": _iso(grant.expires_ns), "talk": grant.talk}


def grant_targets(config: Config, grant: LinkGrant) -> list[Target]:
    return ([Target(building=config.building_of(c), camera=c) for c in grant.cameras]
            + [Target(building=b) for b in grant.buildings])


def _no_links(caller: Caller) -> None:
    if isinstance(caller.subject, LinkSubject):
        raise PermissionDeniedError("responder links cannot do this")


async def _require_all(env: ServiceEnv, caller: Caller, grant: LinkGrant) -> None:
    _no_links(caller)
    for target in grant_targets(env.config, grant):
        await require(env, caller, Action.MANAGE_LINKS, target)
        if grant.talk:
            await require(env, caller, Action.TALK, target)


async def create_link(env: ServiceEnv, caller: Caller, grant: LinkGrant) -> CreatedLink:
    """A new link (`grant` checked by core.links.make_grant), created by the caller."""
    await _require_all(env, caller, grant)

    def write() -> CreatedLink:
        with env.index.transaction() as c:
            link_id, token = store.insert_link(c, grant, caller.actor, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "link.create", f"link:{link_id}", "ok",
                      caller.audit_detail(grant_detail(grant)))
            return CreatedLink(store.link_in(c, link_id), token)

    return await env.run(write)


async def list_links(env: ServiceEnv, caller: Caller) -> list[LinkRow]:
    """Every link the caller could revoke, oldest first."""
    _no_links(caller)
    rows = await env.run(lambda: store.Accounts(env.index).links())
    if caller.is_appliance:
        return rows
    subject = caller.require_subject()
    return [r for r in rows if all(decide(subject, Action.MANAGE_LINKS, t, caller.now_ns).allowed
                                   for t in grant_targets(env.config, r.grant))]


async def revoke_link(env: ServiceEnv, caller: Caller, link_id: int) -> LinkRow:
    """Revoke at once (NotFoundError if there is no such link). Responses bound to it end at the
    credential watcher's next check; the API asks it to check now."""
    _no_links(caller)
    row = await env.run(lambda: store.Accounts(env.index).link(link_id))
    await _require_all(env, caller, row.grant)

    def write() -> LinkRow:
        with env.index.transaction() as c:
            store.revoke_link_in(c, link_id, caller.now_ns)
            append_in(c, caller.now_ns, caller.actor, "link.revoke", f"link:{link_id}", "ok", caller.audit_detail())
            return store.link_in(c, link_id)

    return await env.run(write)


async def open_link(env: ServiceEnv, caller: Caller, token: str) -> LinkSubject:
    """The landing page (`GET /l/{token}`): the link's subject, its use counted and `link.open`
    audited in one transaction; AuthenticationError if the token is no valid link."""
    if not token.startswith(LINK_PREFIX):
        raise AuthenticationError("this is not a responder link")

    def write() -> LinkSubject:
        with env.index.transaction() as c:
            subject = store.use_link_in(c, token, caller.now_ns)
            opener = replace(caller, subject=subject, via=Via.LINK)
            append_in(c, caller.now_ns, opener.actor, "link.open", subject.actor, "ok", opener.audit_detail())
            return subject

    return await env.run(write)
