"""One HTTP(S) call to the daemon under test, for tests that drive the running daemon with the
standard library (test_doors_live, test_clips_e2e, test_api_live): an error status is returned,
not raised, so a test can assert on it."""

from __future__ import annotations

import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path


def call(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None, *,
         cafile: Path | None = None, timeout_s: float = 20) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, response headers) of one request; `cafile` is the daemon's certificate for https."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)  # noqa: S310
    context = None if cafile is None else ssl.create_default_context(cafile=str(cafile))
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout_s) as response:  # noqa: S310 (loopback)
            return int(response.status), response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return int(error.code), error.read(), dict(error.headers)


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
