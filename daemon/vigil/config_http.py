"""The [http] keys that bound what clients may hold (core.conn_limits): read and validated here so
that `vigil check` reports an unusable combination before the daemon starts."""

from __future__ import annotations

from typing import Any, Protocol

from vigil.core.conn_limits import ConnectionLimits

LIMIT_KEYS = {"max_connections", "max_connections_per_address", "tls_handshake_timeout_s", "header_timeout_s",
              "idle_timeout_s", "max_head_bytes", "max_header_count", "max_header_line_bytes"}


class Reader(Protocol):  # config._Reader
    def problem(self, key: str, message: str) -> None: ...

    def get(self, data: Any, prefix: str, name: str, kind: Any, default: Any = None, *, required: bool = False,
            check: Any = None) -> Any: ...


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _between(low: int, high: int) -> Any:
    return lambda value: None if low <= value <= high else f"must be between {low} and {high}"


def read_connection_limits(r: Reader, data: dict[str, Any]) -> ConnectionLimits:
    d = ConnectionLimits()
    number = (int, float)
    limits = ConnectionLimits(
        max_connections=r.get(data, "http", "max_connections", int, d.max_connections, check=_positive),
        max_per_address=r.get(data, "http", "max_connections_per_address", int, d.max_per_address,
                              check=_positive),
        tls_handshake_timeout_s=float(r.get(data, "http", "tls_handshake_timeout_s", number,
                                            d.tls_handshake_timeout_s, check=_positive)),
        header_timeout_s=float(r.get(data, "http", "header_timeout_s", number, d.header_timeout_s, check=_positive)),
        idle_timeout_s=float(r.get(data, "http", "idle_timeout_s", number, d.idle_timeout_s, check=_positive)),
        max_head_bytes=r.get(data, "http", "max_head_bytes", int, d.max_head_bytes, check=_between(4096, 1 << 20)),
        max_header_count=r.get(data, "http", "max_header_count", int, d.max_header_count, check=_between(16, 256)),
        max_header_line_bytes=r.get(data, "http", "max_header_line_bytes", int, d.max_header_line_bytes,
                                    check=_between(1024, 65536)),
    )
    for key, message in limits.problems():
        r.problem(f"http.{key}", message)
    return limits
