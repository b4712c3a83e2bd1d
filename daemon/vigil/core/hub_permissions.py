"""Who may do what at the district hub (issue 17). Pure, like core/permissions.py, which still
decides every request at the appliances: the hub only hands out tokens, and a token carries the
hub user's role and buildings, never more.

Hub users have one role:
- district_admin: every site; enrolment codes, removing sites, hub users, pulling exports.
- building_admin: the sites of their scopes (`<site>/<building>`): the district view of those
  sites, tokens for them, pulling exports from them.
- viewer: the sites of their scopes: the district view and tokens.
A disabled user may do nothing: tokens stop at once, those issued end within their lifetime."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from vigil.core.district import DISTRICT_ROLES, HubClaims, scope_sites, token_buildings_for
from vigil.core.errors import PermissionDeniedError
from vigil.core.permissions import Decision, Role
from vigil.core.timebase import NS_PER_SECOND


class HubAction(enum.Enum):
    VIEW_DISTRICT = "view_district"  # sites, their health and inventory, events, search (filtered to the user's sites)
    ISSUE_TOKEN = "issue_token"  # noqa: S105 - a token for one site (the audience)
    PULL_EXPORT = "pull_export"  # ask a site for an export and keep it in the district archive
    MANAGE_SITES = "manage_sites"  # enrolment codes, removing a site, the broker's ACL
    MANAGE_USERS = "manage_users"  # hub users


_ROLE_ACTIONS: dict[Role, frozenset[HubAction]] = {
    Role.DISTRICT_ADMIN: frozenset(HubAction),
    Role.BUILDING_ADMIN: frozenset({HubAction.VIEW_DISTRICT, HubAction.ISSUE_TOKEN, HubAction.PULL_EXPORT}),
    Role.VIEWER: frozenset({HubAction.VIEW_DISTRICT, HubAction.ISSUE_TOKEN}),
}
_GLOBAL = frozenset({HubAction.MANAGE_SITES, HubAction.MANAGE_USERS})


@dataclass(frozen=True)
class HubUser:
    user_id: int
    name: str
    role: Role
    scopes: tuple[str, ...]  # "<site>/<building>"; () for a district admin
    disabled: bool = False

    @property
    def actor(self) -> str:
        return f"hub_user:{self.name}"

    @property
    def sites(self) -> frozenset[str] | None:
        """The sites this user sees; None for all."""
        return None if self.role is Role.DISTRICT_ADMIN else scope_sites(self.scopes)


def hub_decide(user: HubUser, action: HubAction, site: str | None) -> Decision:
    """May `user` do `action` (about `site`, when the action is about one)?"""
    if user.disabled:
        return Decision(False, "the hub user is disabled")
    if user.role not in DISTRICT_ROLES:
        return Decision(False, f"role {user.role.value} is not a hub role")
    if action not in _ROLE_ACTIONS[user.role]:
        return Decision(False, f"role {user.role.value} may not {action.value}")
    if user.role is Role.DISTRICT_ADMIN or action in _GLOBAL:
        return Decision(True, f"role {user.role.value}")
    if site is None:
        return Decision(True, f"role {user.role.value}, filtered to its sites")
    sites = user.sites or frozenset()
    if site in sites:
        return Decision(True, f"role {user.role.value} in site {site}")
    return Decision(False, f"site {site} is not among the user's sites")


def token_claims(hub_id: str, user: HubUser, site: str, now_ns: int, lifetime_s: float, token_id: str) -> HubClaims:
    """What a token for `user` at `site` says: the user's role and its buildings there (a
    district admin's: none, meaning all); PermissionDeniedError when the user may not have one
    (hub_decide), or is a building admin or viewer with no building at that site."""
    decision = hub_decide(user, HubAction.ISSUE_TOKEN, site)
    if not decision.allowed:
        raise PermissionDeniedError(f"no token for {site}: {decision.reason}")
    buildings: tuple[str, ...] = ()
    if user.role is not Role.DISTRICT_ADMIN:
        buildings = token_buildings_for(user.scopes, site)
        if not buildings:
            raise PermissionDeniedError(f"hub user {user.name} has no building at site {site}")
    return HubClaims(hub=hub_id, site=site, user=user.name, role=user.role, buildings=buildings,
                     issued_ns=now_ns, expires_ns=now_ns + round(lifetime_s * NS_PER_SECOND), token_id=token_id)
