"""Every hub route with the HubAction and HubScope that guard it (hub/app.py enforces them;
tests/unit/hub/test_hub_route_matrix.py checks them against a table of its own). The event list,
search and pulls (hub.events_api.EVENT_ROUTES) join when that module is installed."""

from __future__ import annotations

import importlib
import importlib.util

from vigil.core.hub_permissions import HubAction
from vigil.hub import api, pages
from vigil.hub.http import HubRoute, HubScope

A, S = HubAction, HubScope

CORE_ROUTES: list[HubRoute] = [
    HubRoute("GET", "/", pages.index_page, None, S.NONE),
    HubRoute("GET", "/hub/{name:.+}", pages.hub_file, None, S.NONE),
    HubRoute("POST", "/api/session", api.sign_in, None, S.NONE),
    HubRoute("DELETE", "/api/session", api.sign_out, A.VIEW_DISTRICT, S.DISTRICT),
    HubRoute("GET", "/api/me", api.me, A.VIEW_DISTRICT, S.DISTRICT),
    HubRoute("GET", "/api/sites", api.list_sites, A.VIEW_DISTRICT, S.DISTRICT),
    HubRoute("POST", "/api/sites/{site_id}/token", api.site_token, A.ISSUE_TOKEN, S.SITE),
    HubRoute("DELETE", "/api/sites/{site_id}", api.remove_site, A.MANAGE_SITES, S.SITE),
    HubRoute("POST", "/api/enrol-codes", api.create_enrol_code, A.MANAGE_SITES, S.DISTRICT),
    HubRoute("POST", "/api/enrol", api.enrol, None, S.NONE),  # the code's HMAC
    HubRoute("POST", "/api/site/tokens", api.renew, None, S.NONE),  # the site's client certificate
]


def _event_routes() -> list[HubRoute]:
    if importlib.util.find_spec("vigil.hub.events_api") is None:
        return []
    routes: list[HubRoute] = importlib.import_module("vigil.hub.events_api").EVENT_ROUTES
    return routes


HUB_ROUTES: list[HubRoute] = CORE_ROUTES + _event_routes()
