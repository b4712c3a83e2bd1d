"""`[http]` (the listener, TLS, the connection limits of core.conn_limits) and `[access]` (how long
sign-ins and responder links last, the sign-in lockout).

The connection limits are validated together here so that `vigil check` reports an unusable
combination before the daemon starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vigil.config.model import AccessConfig, HttpConfig
from vigil.config.reader import NUMBER, Reader, between, positive
from vigil.core.conn_limits import ConnectionLimits

LIMIT_KEYS = {"max_connections", "max_connections_per_address", "tls_handshake_timeout_s", "header_timeout_s",
              "idle_timeout_s", "max_head_bytes", "max_header_count", "max_header_line_bytes"}
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def read_connection_limits(r: Reader, data: dict[str, Any]) -> ConnectionLimits:
    d = ConnectionLimits()
    limits = ConnectionLimits(
        max_connections=r.get(data, "http", "max_connections", int, d.max_connections, check=positive),
        max_per_address=r.get(data, "http", "max_connections_per_address", int, d.max_per_address,
                              check=positive),
        tls_handshake_timeout_s=float(r.get(data, "http", "tls_handshake_timeout_s", NUMBER,
                                            d.tls_handshake_timeout_s, check=positive)),
        header_timeout_s=float(r.get(data, "http", "header_timeout_s", NUMBER, d.header_timeout_s, check=positive)),
        idle_timeout_s=float(r.get(data, "http", "idle_timeout_s", NUMBER, d.idle_timeout_s, check=positive)),
        max_head_bytes=r.get(data, "http", "max_head_bytes", int, d.max_head_bytes, check=between(4096, 1 << 20)),
        max_header_count=r.get(data, "http", "max_header_count", int, d.max_header_count, check=between(16, 256)),
        max_header_line_bytes=r.get(data, "http", "max_header_line_bytes", int, d.max_header_line_bytes,
                                    check=between(1024, 65536)),
    )
    for key, message in limits.problems():
        r.problem(f"http.{key}", message)
    return limits


def read_http(r: Reader, data: Any) -> HttpConfig:
    if data is None:
        return HttpConfig()
    if not isinstance(data, dict):
        r.problem("http", "expected a table")
        return HttpConfig()
    r.table(data, "http", {"listen", "tls", "cert_file", "key_file", "public_url", "max_body_bytes"} | LIMIT_KEYS)
    host, port = HttpConfig.host, HttpConfig.port
    listen = r.get(data, "http", "listen", str)
    if listen is not None:
        head, sep, tail = listen.rpartition(":")
        if not sep or not (tail.isascii() and tail.isdigit()) or not 0 <= int(tail) < 65536:  # 0: any free port
            r.problem("http.listen", f"{listen!r} is not HOST:PORT")
        else:
            host, port = head.strip("[]") or "0.0.0.0", int(tail)  # noqa: S104
    tls = r.get(data, "http", "tls", bool, True)
    if not tls and host not in LOOPBACK_HOSTS:
        r.problem("http.tls", "plain HTTP is allowed only on a loopback address (e.g. behind a local proxy)")
    cert, key = r.get(data, "http", "cert_file", str), r.get(data, "http", "key_file", str)
    if (cert is None) != (key is None):
        r.problem("http", "set both cert_file and key_file, or neither (a self-signed certificate is made)")
    public_url = r.get(data, "http", "public_url", str,
                       check=lambda v: None if v.startswith(("https://", "http://")) else "must be an http(s) URL")
    return HttpConfig(host=host, port=port, tls=tls, cert_file=None if cert is None else Path(cert),
                      key_file=None if key is None else Path(key), public_url=public_url and public_url.rstrip("/"),
                      max_body_bytes=r.get(data, "http", "max_body_bytes", int, 1_000_000, check=positive),
                      limits=read_connection_limits(r, data))


def read_access(r: Reader, data: Any) -> AccessConfig:
    if data is None:
        return AccessConfig()
    if not isinstance(data, dict):
        r.problem("access", "expected a table")
        return AccessConfig()
    r.table(data, "access", {"session_hours", "link_default_hours", "link_max_hours", "login_max_failures",
                             "login_lockout_minutes"})
    access = AccessConfig(
        session_hours=float(r.get(data, "access", "session_hours", NUMBER, 12.0, check=positive)),
        link_default_hours=float(r.get(data, "access", "link_default_hours", NUMBER, 12.0, check=positive)),
        link_max_hours=float(r.get(data, "access", "link_max_hours", NUMBER, 72.0, check=positive)),
        login_max_failures=r.get(data, "access", "login_max_failures", int, 5, check=positive),
        login_lockout_minutes=float(r.get(data, "access", "login_lockout_minutes", NUMBER, 15.0, check=positive)),
    )
    if access.link_default_hours > access.link_max_hours:
        r.problem("access.link_default_hours", "must not exceed access.link_max_hours")
    return access
