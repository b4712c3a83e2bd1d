"""The hub calling a site's HTTPS API for one of its users (federated search, export pulls): a hub
token for that user with the site as audience (hub/site_tokens.py, hub-core's) as the bearer, so
the appliance decides and audits the request as that user, never as "the hub".

TLS: the appliance's certificate is verified. An appliance's HTTPS certificate is self-signed and
the enrolment does not carry it (the site sends only its URL, CSR and evidence key), so the hub
trusts the system's CAs plus `<data>/keys/site-ca.pem` when present: the operator puts each
appliance's certificate (or the CA that signed them) there. Pinning the certificate the site
presents at enrolment is left to a later enrolment version (notes in design/district.md)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from vigil.core.errors import ConflictError
from vigil.core.hub_permissions import HubUser
from vigil.hub.env import HubEnv
from vigil.hub.site_tokens import issue_token
from vigil.store import hub_messages

SITE_CA_NAME = "site-ca.pem"


def site_ssl_context(env: HubEnv) -> ssl.SSLContext:
    context = ssl.create_default_context()
    extra = env.config.keys_dir / SITE_CA_NAME
    if extra.is_file():
        context.load_verify_locations(cafile=str(extra))
    return context


@dataclass(frozen=True)
class SiteCall:
    site: str
    url: str  # the appliance's base URL
    headers: Mapping[str, str]  # Authorization: Bearer <hub token> (never logged)


async def site_call(env: HubEnv, user: HubUser, site: str, now_ns: int, purpose: str) -> SiteCall:
    """What to call `site` with for `user` (a token audited `hub.token` with `purpose`);
    ConflictError when the site was removed or has no URL."""
    target = await env.run(lambda: hub_messages.site_target(env.db, site))
    if target is None or target.removed or not target.url:
        raise ConflictError(f"site {site} is removed or has no URL")
    token, _claims = await env.run(lambda: issue_token(env, user, site, now_ns, purpose=purpose))
    return SiteCall(site, target.url.rstrip("/"), {"Authorization": f"Bearer {token}"})
