"""HTTP authentication for device clients (RTSP and HTTP alike): Basic (RFC 7617) and Digest
(RFC 2617 / RFC 7616, MD5 and SHA-256, with and without `qop=auth`).

Rules:
- `parse_challenges` reads WWW-Authenticate values into `Challenge`s; unknown schemes are kept
  (their parameters too) so that the caller can say what the device asked for. A malformed value
  raises `AuthHeaderError` (a ValueError); a value longer than MAX_CHALLENGE_CHARS too.
- `pick_challenge` prefers Digest SHA-256, then Digest MD5, then Basic (Basic only when the caller
  allows it: over RTSP cameras commonly ask for it; the password then travels in clear text).
- `authorization` computes the Authorization header value for one request. The client nonce and
  the nonce count are arguments (the caller draws the cnonce from a CSPRNG and counts requests
  per server nonce), so the result is a pure function of its inputs.
- `qop=auth-int` and the `-sess` algorithms are not supported: `UnsupportedAuthError`.
- `SignIn` is one client's state towards one server (credentials, the adopted challenge, the nonce
  count, the cnonce) for the RTSP clients: the ingest's and the talk backchannel's. Whether to
  answer a 401 at all (once, again when stale, again on a new nonce) stays the caller's rule."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

MAX_CHALLENGE_CHARS = 4096


class AuthHeaderError(ValueError):
    """A WWW-Authenticate value that could not be read."""


class UnsupportedAuthError(ValueError):
    """The device asks for an authentication this client does not speak."""


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lowercased: "digest", "basic", ...
    params: tuple[tuple[str, str], ...]  # names lowercased

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    @property
    def algorithm(self) -> str:
        return (self.param("algorithm") or "MD5").upper()


def _split_params(text: str) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t,":
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        if eq < 0:
            raise AuthHeaderError(f"parameter without a value in {text[:60]!r}")
        name = text[i:eq].strip().lower()
        if not name or any(c in name for c in ' \t",'):
            raise AuthHeaderError(f"bad parameter name in {text[:60]!r}")
        i = eq + 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            value = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(text[i])
                i += 1
            if i >= n:
                raise AuthHeaderError(f"unterminated quoted value in {text[:60]!r}")
            i += 1
            params.append((name, "".join(value)))
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            params.append((name, text[i:end].strip()))
            i = end
    return params


def parse_challenges(values: list[str]) -> list[Challenge]:
    """Each WWW-Authenticate header value as one challenge (one per header line, as cameras send
    them; several schemes on one line are split where a new `Scheme ` word starts a parameter)."""
    found: list[Challenge] = []
    for value in values:
        if len(value) > MAX_CHALLENGE_CHARS:
            raise AuthHeaderError("WWW-Authenticate value too long")
        scheme, _, rest = value.strip().partition(" ")
        if not scheme or not scheme.isascii() or not scheme.replace("-", "").isalnum():
            raise AuthHeaderError(f"bad authentication scheme in {value[:60]!r}")
        found.append(Challenge(scheme.lower(), tuple(_split_params(rest)) if "=" in rest else ()))
    return found


def pick_challenge(challenges: list[Challenge], allow_basic: bool = True) -> Challenge:
    """The strongest challenge this client can answer."""

    def rank(c: Challenge) -> int:
        if c.scheme == "digest" and c.algorithm == "SHA-256" and c.param("nonce"):
            return 3
        if c.scheme == "digest" and c.algorithm == "MD5" and c.param("nonce"):
            return 2
        if c.scheme == "basic" and allow_basic:
            return 1
        return 0

    usable = [c for c in challenges if rank(c) > 0]
    if not usable:
        asked = ", ".join(f"{c.scheme} {c.algorithm if c.scheme == 'digest' else ''}".strip() for c in challenges)
        raise UnsupportedAuthError(f"the device asks for an authentication we do not speak ({asked or 'none'})")
    return max(usable, key=rank)


def _hash(algorithm: str, text: str) -> str:
    data = text.encode("utf-8")
    return hashlib.sha256(data).hexdigest() if algorithm == "SHA-256" else hashlib.md5(data).hexdigest()  # noqa: S324 - RFC 2617


def digest_response(
    algorithm: str, username: str, realm: str, password: str, method: str, uri: str, nonce: str,
    qop: str | None, nc: int, cnonce: str,
) -> str:
    """The `response` value of RFC 7616 §3.4.1 (qop None: RFC 2069 compatibility)."""
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop is None:
        return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{nc:08x}:{cnonce}:{qop}:{ha2}")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def authorization(
    challenge: Challenge, username: str, password: str, method: str, uri: str, cnonce: str, nc: int = 1
) -> str:
    """The Authorization header value answering `challenge` for one request."""
    if challenge.scheme == "basic":
        return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    if challenge.scheme != "digest":
        raise UnsupportedAuthError(f"authentication scheme {challenge.scheme} is not supported")
    algorithm = challenge.algorithm
    if algorithm not in ("MD5", "SHA-256"):
        raise UnsupportedAuthError(f"digest algorithm {algorithm} is not supported")
    nonce = challenge.param("nonce")
    if not nonce:
        raise AuthHeaderError("digest challenge without a nonce")
    realm = challenge.param("realm") or ""
    offered = [q.strip() for q in (challenge.param("qop") or "").split(",") if q.strip()]
    if offered and "auth" not in offered:
        raise UnsupportedAuthError(f"digest qop {','.join(offered)} is not supported")
    qop = "auth" if offered else None
    response = digest_response(algorithm, username, realm, password, method, uri, nonce, qop, nc, cnonce)
    parts = [
        f"username={_quote(username)}", f"realm={_quote(realm)}", f"nonce={_quote(nonce)}",
        f"uri={_quote(uri)}", f"response={_quote(response)}",
    ]
    if challenge.param("algorithm") is not None:
        parts.append(f"algorithm={algorithm}")
    opaque = challenge.param("opaque")
    if opaque is not None:
        parts.append(f"opaque={_quote(opaque)}")
    if qop is not None:
        parts += [f"qop={qop}", f"nc={nc:08x}", f"cnonce={_quote(cnonce)}"]
    return "Digest " + ", ".join(parts)


def any_stale(challenges: list[Challenge]) -> bool:
    """A 401 that only says our nonce expired (RFC 7616 `stale=true`)."""
    return any((c.param("stale") or "").lower() == "true" for c in challenges)


class SignIn:
    """Credentials and the server's adopted challenge: the Authorization value for each request."""

    def __init__(self, username: str | None, password: str | None, cnonce: str) -> None:
        self.username = username
        self._password = password or ""
        self._cnonce = cnonce  # from a CSPRNG (secrets.token_hex), or fixed by a test
        self.challenge: Challenge | None = None
        self._nc = 0

    def adopt(self, challenge: Challenge) -> None:
        """Answer this challenge from now on (the nonce count starts again)."""
        self.challenge = challenge
        self._nc = 0

    def value(self, method: str, uri: str) -> str | None:
        """The Authorization header value for one request; None before a challenge (or without a
        user name). Raises AuthHeaderError / UnsupportedAuthError for a challenge it cannot answer."""
        if self.challenge is None or self.username is None:
            return None
        self._nc += 1
        return authorization(self.challenge, self.username, self._password, method, uri, self._cnonce, self._nc)
