"""The bad requests of the soak's abusive client (tests/support/soak_abuse.py): what a careless or hostile
client sends. Each must get a 4xx problem (or 503), never a 500; the catalogue names each one so
that a failing soak says which."""

from __future__ import annotations

import random
import time

Request = tuple[str, str, dict[str, str], bytes | None]  # method, path (already encoded), headers, body


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def bad_requests(rng: random.Random, cameras: tuple[str, ...], admin_token: str, link_token: str,
                 ) -> dict[str, Request]:
    """What a careless or hostile client sends, by name: (method, path, headers, body)."""
    cam = rng.choice(cameras)
    admin, link = _auth(admin_token), _auth(link_token)
    as_json, as_sdp = {"Content-Type": "application/json"}, {"Content-Type": "application/sdp"}
    now_s = int(time.time())
    segments = f"/api/cameras/{cam}/segments"
    return {
        "truncated-json": ("POST", "/api/login", as_json, b'{"name": "x", "passw'),
        "json-array": ("POST", "/api/login", as_json, b"[1, 2, 3]"),
        "json-nan": ("POST", "/api/login", as_json, b'{"name": NaN, "password": Infinity}'),
        "deep-json": ("POST", "/api/login", as_json, b"[" * 100_000 + b"]" * 100_000),
        "huge-body": ("POST", "/api/login", as_json, b" " * 3_000_000),  # over http.max_body_bytes
        "bad-link": ("POST", "/api/links", admin | as_json, b'{"cameras": "all", "reason": 5}'),
        "year-2263": ("GET", f"{segments}?start=2263-01-01T00:00:00Z&end=2264-01-01T00:00:00Z", admin, None),
        "not-a-time": ("GET", f"{segments}?start=yesterday&end=tomorrow", admin, None),
        "reversed-range": ("GET", f"{segments}?start={now_s}&end={now_s - 600}", admin, None),
        "endless-clip": ("GET", f"/api/cameras/{cam}/clip.mp4?start={now_s - 30}&end=99999999999999", admin, None),
        "unknown-camera": ("GET", "/api/cameras/no-such-camera/segments", admin, None),
        "random-path": ("GET", f"/api/{rng.getrandbits(128):x}/%2e%2e/%00", {}, None),
        "dot-dot-path": ("GET", "/api/../../../etc/passwd", {}, None),
        "wrong-method": ("PATCH", "/api/health", admin, None),
        "forged-token": ("GET", "/api/cameras", _auth(f"vigil_t_{rng.getrandbits(160):x}"), None),
        "random-offer": ("POST", f"/api/cameras/{cam}/whep", link | as_sdp, rng.randbytes(rng.randrange(1, 4000))),
        "bare-offer": ("POST", f"/api/cameras/{cam}/whep", link | as_sdp, b"v=0\r\nm=video H264/90000"),
        "offer-as-text": ("POST", f"/api/cameras/{cam}/whep", link | {"Content-Type": "text/plain"}, b"v=0"),
        "unknown-session": ("DELETE", f"/api/whep/{rng.getrandbits(128):x}", link, None),
    }

