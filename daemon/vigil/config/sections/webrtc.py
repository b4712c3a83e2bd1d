"""`[webrtc]`: the ICE servers given to browsers and the daemon, TURN with time-limited
credentials, and how many live viewers the appliance and each credential may have."""

from __future__ import annotations

from typing import Any

from vigil.config.model import WebrtcConfig
from vigil.config.reader import Reader, positive
from vigil.core.turn import IceServer


def ice_url_check(value: str) -> str | None:
    return None if value.startswith(("stun:", "turn:", "turns:")) else "must be a stun:, turn: or turns: URL"


def read_webrtc(r: Reader, data: Any) -> WebrtcConfig:
    if data is None:
        return WebrtcConfig()
    if not isinstance(data, dict):
        r.problem("webrtc", "expected a table")
        return WebrtcConfig()
    r.table(data, "webrtc", {"ice_servers", "turn_urls", "turn_secret", "turn_ttl_s", "max_viewers",
                             "max_viewers_per_credential", "max_viewers_per_link", "max_transcodes"})
    servers = []
    for i, item in enumerate(r.get(data, "webrtc", "ice_servers", list, [])):
        key = f"webrtc.ice_servers[{i}]"
        if not isinstance(item, dict):
            r.problem(key, "expected a table {urls = [...], username = ..., credential = ...}")
            continue
        r.table(item, key, {"urls", "username", "credential"})
        urls = r.get(item, key, "urls", list, [], required=True)
        bad = [u for u in urls if not isinstance(u, str) or ice_url_check(u)]
        if bad or not urls:
            r.problem(f"{key}.urls", "must be a non-empty list of stun:/turn:/turns: URLs")
        servers.append(IceServer(tuple(u for u in urls if isinstance(u, str)), r.get(item, key, "username", str),
                                 r.get(item, key, "credential", str)))
    turn_urls = r.get(data, "webrtc", "turn_urls", list, [])
    if any(not isinstance(u, str) or ice_url_check(u) for u in turn_urls):
        r.problem("webrtc.turn_urls", "must be a list of turn:/turns: URLs")
        turn_urls = []
    secret = r.get(data, "webrtc", "turn_secret", str)
    if turn_urls and not secret:
        r.problem("webrtc.turn_secret", "turn_urls need the TURN server's shared secret")
    max_viewers = r.get(data, "webrtc", "max_viewers", int, 16, check=positive)
    # A sign-in may fill a live wall of 16; a responder link (shared outside the district) 4. Never
    # more than max_viewers.
    per_credential = r.get(data, "webrtc", "max_viewers_per_credential", int, min(16, max_viewers), check=positive)
    if per_credential > max_viewers:
        r.problem("webrtc.max_viewers_per_credential", f"must be at most max_viewers ({max_viewers})")
    per_link = r.get(data, "webrtc", "max_viewers_per_link", int, min(4, max_viewers), check=positive)
    if per_link > max_viewers:
        r.problem("webrtc.max_viewers_per_link", f"must be at most max_viewers ({max_viewers})")
    max_transcodes = r.get(data, "webrtc", "max_transcodes", int, 2,
                           check=lambda v: None if v >= 0 else "must be 0 (never re-encode) or more")
    return WebrtcConfig(tuple(servers), tuple(turn_urls), secret,
                        r.get(data, "webrtc", "turn_ttl_s", int, 3600, check=positive), max_viewers, per_credential,
                        per_link, max_transcodes)
