"""The hub's HTTP plumbing shared by its route modules: a route names its HubAction (the table in
hub/routes.py, checked by tests/unit/hub/test_hub_route_matrix.py), a handler gets a HubCtx."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from vigil.core.errors import AuthenticationError, PermissionDeniedError
from vigil.core.hub_permissions import HubAction, HubUser, hub_decide
from vigil.hub.env import HubEnv

HUB_SESSION_COOKIE = "vigil_hub_session"
HUB_ENV = web.AppKey("hub_env", HubEnv)


class HubScope(enum.Enum):
    NONE = "none"  # no sign-in (sign-in itself, enrolment with its HMAC, the site's mTLS renewal)
    DISTRICT = "district"  # about no one site (lists are filtered to the user's sites)
    SITE = "site"  # about the site in the path's {site_id}


@dataclass
class HubCtx:
    request: web.Request
    env: HubEnv
    user: HubUser | None
    now_ns: int
    csrf_token: str | None = None

    @property
    def signed_in(self) -> HubUser:
        if self.user is None:
            raise AuthenticationError("sign in at the hub first")
        return self.user

    @property
    def actor(self) -> str:
        return self.user.actor if self.user is not None else "anonymous"

    def may(self, action: HubAction, site: str | None) -> bool:
        return self.user is not None and hub_decide(self.user, action, site).allowed

    def require(self, action: HubAction, site: str | None) -> None:
        """The decision; the caller audits a denial (hub/audit.py) before raising it on."""
        decision = hub_decide(self.signed_in, action, site)
        if not decision.allowed:
            raise PermissionDeniedError(f"not allowed: {decision.reason}")


Handler = Callable[[HubCtx], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class HubRoute:
    method: str
    path: str
    handler: Handler
    action: HubAction | None  # None only with HubScope.NONE
    scope: HubScope
