"""Hub tokens for one site (the audience): from a signed-in hub user (`issue_token`), or renewed
for a session an appliance made from one, asked by the appliance with its site certificate
(`renew_token`). The claims carry the user's role and its buildings at that site
(core.district.token_buildings_for); a building_admin or viewer with none there gets no token. A
removed site gets no more tokens. Each token is audited with its id, never its text."""

from __future__ import annotations

import secrets
import sqlite3

from vigil.core.district import HubClaims
from vigil.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from vigil.core.hub_permissions import HubUser, token_claims
from vigil.district.tokens import sign_token
from vigil.hub.audit import audit_alone
from vigil.hub.env import HubEnv
from vigil.store import hub_accounts, hub_sites
from vigil.store.audit_log import append_in


def _claims(env: HubEnv, user: HubUser, site_id: str, now_ns: int) -> HubClaims:
    return token_claims(env.config.hub_id, user, site_id, now_ns, env.config.token_lifetime_s,
                        secrets.token_urlsafe(16))


def _site_for_token(c: sqlite3.Connection, site_id: str) -> hub_sites.SiteRow:
    site = hub_sites.site_in(c, site_id)
    if site is None or site.enrolled_ns is None:
        raise NotFoundError(f"no site {site_id!r}")
    if site.removed_ns is not None:
        raise ConflictError(f"site {site_id} was removed: no tokens for it")
    return site


def issue_token(env: HubEnv, user: HubUser, site_id: str, now_ns: int, *, purpose: str = "sign_in"
                ) -> tuple[str, HubClaims]:
    """A token for `user` at `site_id` and its claims, audited `hub.token`. Blocking (SQLite): run
    it with `await env.run(lambda: issue_token(...))`. The user is read again in the transaction,
    so a user disabled meanwhile gets none. `purpose` goes into the audit entry ("sign_in", "search")."""
    with env.db.transaction() as c:
        _site_for_token(c, site_id)
        current = hub_accounts.user_in(c, user.name)  # as it is now: disabled, or its scopes changed
        if current is None or current.disabled:
            raise PermissionDeniedError(f"hub user {user.name} is disabled or gone")
        claims = _claims(env, current, site_id, now_ns)
        token = sign_token(env.keys.token_key, claims)
        append_in(c, now_ns, user.actor, "hub.token", f"site:{site_id}", "ok",
                  {"token_id": claims.token_id, "role": claims.role.value, "buildings": list(claims.buildings),
                   "expires_ns": claims.expires_ns, "purpose": purpose})
    return token, claims


def _same_serial(stored: str | None, presented: str) -> bool:
    """Serial numbers in hex, as stored (no leading zeros) and as ssl's getpeercert gives them."""
    try:
        return stored is not None and int(stored, 16) == int(presented, 16)
    except ValueError:
        return False


def renew_token(env: HubEnv, site_id: str, cert_serial: str, user_name: str, old_token_id: str, now_ns: int
                ) -> tuple[str, HubClaims]:
    """A fresh token for hub user `user_name` at the site whose certificate (`cert_serial`, CN
    `site_id`) asked, audited `hub.token.renew` (refusals too). Blocking, like issue_token."""
    actor = f"site:{site_id}"
    try:
        with env.db.transaction() as c:
            site = _site_for_token(c, site_id)
            if not _same_serial(site.cert_serial, cert_serial):
                raise PermissionDeniedError(f"the certificate is not site {site_id}'s current one")
            user = hub_accounts.user_in(c, user_name)
            if user is None:
                raise PermissionDeniedError(f"no hub user {user_name!r}")
            claims = _claims(env, user, site_id, now_ns)
            token = sign_token(env.keys.token_key, claims)
            append_in(c, now_ns, actor, "hub.token.renew", user.actor, "ok",
                      {"token_id": claims.token_id, "renews": old_token_id, "expires_ns": claims.expires_ns})
        return token, claims
    except (PermissionDeniedError, ConflictError, NotFoundError) as error:
        audit_alone(env, now_ns, actor, "hub.token.renew", f"hub_user:{user_name}", "denied",
                    {"renews": old_token_id, "reason": str(error)})
        raise PermissionDeniedError(str(error)) from None
