"""Time-limited TURN credentials (the "TURN REST API" scheme coturn implements with
`use-auth-secret`): username = "<expiry unix s>:<label>", password = base64(HMAC-SHA1(secret,
username)). The TURN server checks the HMAC and the expiry; no per-user state anywhere."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"urls": list(self.urls)}
        if self.username is not None:
            out["username"] = self.username
            out["credential"] = self.credential
        return out


def turn_credentials(secret: str, label: str, now_s: int, ttl_s: int) -> tuple[str, str]:
    username = f"{now_s + ttl_s}:{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(static: tuple[IceServer, ...], turn_urls: tuple[str, ...], turn_secret: str | None,
                    label: str, now_s: int, ttl_s: int) -> tuple[IceServer, ...]:
    """The configured servers, plus the TURN servers with fresh credentials for this session."""
    if not turn_urls or not turn_secret:
        return static
    username, password = turn_credentials(turn_secret, label, now_s, ttl_s)
    return (*static, IceServer(turn_urls, username, password))
