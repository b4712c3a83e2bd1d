"""The hub calling a site's HTTPS API for one of its users (federated search, export pulls): a hub
token for that user with the site as audience (hub/site_tokens.py, hub-core's) as the bearer, so
the appliance decides and audits the request as that user, never as "the hub".

TLS: the appliance's certificate is checked. An appliance's HTTPS certificate is usually
self-signed, so the hub pins it: the site's retained inventory (published over the bridge under the
site's own certificate, so the site vouches for it) carries the SHA-256 of the certificate its HTTPS
presents, and the call accepts exactly that certificate (`aiohttp.Fingerprint`; the name in the URL
is not checked, since the pin is stronger). Before the hub has heard that inventory it trusts the
system's CAs plus `<data>/keys/site-ca.pem` when present (the operator's fallback)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

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


def site_ssl(env: HubEnv, https_sha256: str | None) -> ssl.SSLContext | aiohttp.Fingerprint:
    """How to check the site's certificate: its pinned fingerprint, else the CAs."""
    if https_sha256 is not None:
        return aiohttp.Fingerprint(bytes.fromhex(https_sha256))
    return site_ssl_context(env)


@dataclass(frozen=True)
class SiteCall:
    site: str
    url: str  # the appliance's base URL
    headers: Mapping[str, str]  # Authorization: Bearer <hub token> (never logged)
    ssl: ssl.SSLContext | aiohttp.Fingerprint  # pass as aiohttp's ssl=


async def site_call(env: HubEnv, user: HubUser, site: str, now_ns: int, purpose: str) -> SiteCall:
    """What to call `site` with for `user` (a token audited `hub.token` with `purpose`);
    ConflictError when the site was removed or has no URL."""
    target = await env.run(lambda: hub_messages.site_target(env.db, site))
    if target is None or target.removed or not target.url:
        raise ConflictError(f"site {site} is removed or has no URL")
    token, _claims = await env.run(lambda: issue_token(env, user, site, now_ns, purpose=purpose))
    return SiteCall(site, target.url.rstrip("/"), {"Authorization": f"Bearer {token}"},
                    await asyncio.to_thread(site_ssl, env, target.https_sha256))
