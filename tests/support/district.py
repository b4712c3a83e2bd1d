"""A district hub as far as an appliance's tests need one: an Ed25519 token key, hub.json written
under the appliance's storage (as `vigil district enroll` leaves it), and tokens signed with it."""

from __future__ import annotations

import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vigil.core.district import HubClaims
from vigil.core.district_site import HubInfo, hub_info_json
from vigil.core.permissions import Role
from vigil.core.timebase import NS_PER_SECOND
from vigil.district.state import district_files
from vigil.district.tokens import public_key_text, sign_token

HUB_ID, HUB_NAME, HUB_URL = "hub-test", "Test District", "https://hub.test:9443"


def enrol_test_hub(storage_path: Path, site_id: str = "site-a") -> Ed25519PrivateKey:
    """A fresh hub key, and this appliance enrolled with it (hub.json only: no bridge, no certificates)."""
    key = Ed25519PrivateKey.generate()
    info = HubInfo(HUB_ID, HUB_NAME, HUB_URL, public_key_text(key.public_key()), site_id, "127.0.0.1", 8883)
    files = district_files(storage_path)
    files.dir.mkdir(parents=True, exist_ok=True)
    files.hub_json.write_text(hub_info_json(info), encoding="utf-8")
    return key


def hub_token(key: Ed25519PrivateKey, now_ns: int, *, site: str = "site-a", user: str = "dana",
              role: Role = Role.DISTRICT_ADMIN, buildings: tuple[str, ...] = (), lifetime_s: float = 300,
              issued_ago_s: float = 0, hub: str = HUB_ID, token_id: str | None = None) -> str:
    issued = now_ns - round(issued_ago_s * NS_PER_SECOND)
    claims = HubClaims(hub, site, user, role, buildings, issued, issued + round(lifetime_s * NS_PER_SECOND),
                       token_id or secrets.token_hex(8))
    return sign_token(key, claims)
