"""What an HTTP client may hold of the appliance before it has signed in: connections, file
descriptors and time. Pure: the shell (vigil.api.listener) accepts sockets and applies the answers.

Rules:
- Recording comes first. Every open connection costs one file descriptor; the daemon's descriptor
  limit (RLIMIT_NOFILE, raised to its hard limit at start) is shared with cameras, segment files,
  the index and WebRTC sockets. `fd_reserve` is what those may need; the API gets at most the rest,
  whatever `max_connections` says (`effective_max_connections`).
- At most `max_connections` connections are open at once, and at most `max_per_address` from one
  client address (IPv4-mapped IPv6 addresses count as their IPv4 address). A connection over
  either cap is closed at once, before its TLS handshake: it costs a descriptor for microseconds.
- A connection that has not finished its TLS handshake within `tls_handshake_timeout_s` is closed.
- A connection that has not sent a complete request head (up to the blank line) within
  `header_timeout_s` of the handshake is closed (slow-header, "slowloris" clients), and so is
  one whose first request head grows past `max_head_bytes` (memory held by a head no real client
  sends). Later heads on the same connection are bounded by `max_header_count` lines of at most
  `max_header_line_bytes` each (aiohttp's parser answers 400/431 past that).
- Between requests a kept-alive connection may stay idle (or send the next head) for
  `idle_timeout_s`, then it is closed.
So one client address holds at most `max_per_address` descriptors, each for at most
tls_handshake_timeout_s + header_timeout_s unless it sends requests; what a signed-in client does
with its requests is bounded by the API's own limits (body size, sessions, viewers)."""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

# File descriptors recording may need besides the API's connections (see fd_reserve).
# Measured: the daemon with one camera holds 13 descriptors; these leave several times that.
FDS_BASE = 64  # the interpreter, event loop, log, journald, udev netlink, exports, door adapters, webhooks
FDS_PER_CAMERA = 16  # RTSP main + sub stream sockets (TCP, or RTP/RTCP UDP pairs), segment files, motion
FDS_PER_VIEWER = 8  # a WebRTC peer: ICE host candidates (one UDP socket per local address), TURN
FDS_INDEX = 16  # SQLite: database, WAL and shared-memory files per connection, per thread
MIN_CONNECTIONS = 16  # below this the API is not usable: refuse to start rather than pretend


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 256
    max_per_address: int = 32
    tls_handshake_timeout_s: float = 10.0
    header_timeout_s: float = 10.0
    idle_timeout_s: float = 30.0
    max_head_bytes: int = 32768  # the first request head of a connection, request line included
    max_header_count: int = 32  # header lines in one request head
    max_header_line_bytes: int = 8190  # the request line and each header line

    def problems(self) -> list[tuple[str, str]]:
        """(key, message) for every value that cannot work; empty when the limits are sound."""
        found = []
        if self.max_per_address > self.max_connections:
            found.append(("max_connections_per_address", "must not exceed max_connections"))
        if self.max_connections < MIN_CONNECTIONS:
            found.append(("max_connections", f"must be at least {MIN_CONNECTIONS}"))
        return found

    def header_bytes_max(self) -> int:
        """The most a later request head (after a connection's first) can hold before aiohttp
        refuses it: header lines × line size, plus the request line."""
        return (self.max_header_count + 1) * self.max_header_line_bytes


def fd_reserve(cameras: int, max_viewers: int) -> int:
    """Descriptors kept for recording and live viewing: never given to API connections."""
    return FDS_BASE + FDS_INDEX + FDS_PER_CAMERA * cameras + FDS_PER_VIEWER * max_viewers


@dataclass(frozen=True)
class ConnectionBudget:
    max_connections: int  # what the listener enforces
    reserve_fds: int
    nofile: int
    reduced: bool  # the configured max_connections did not fit under the descriptor limit

    def message(self, configured: int) -> str:
        if self.reduced:
            return (f"http: at most {self.max_connections} connections (not {configured}): the descriptor limit is"
                    f" {self.nofile} and {self.reserve_fds} are kept for recording; raise LimitNOFILE")
        return (f"http: at most {self.max_connections} connections; descriptor limit {self.nofile},"
                f" {self.reserve_fds} kept for recording")


def effective_max_connections(limits: ConnectionLimits, nofile: int, reserve_fds: int) -> ConnectionBudget:
    """The connection cap that leaves `reserve_fds` of `nofile` for recording. May be below
    MIN_CONNECTIONS (the shell then refuses to start: the limit is too low to serve anything)."""
    room = max(0, nofile - reserve_fds)
    cap = min(limits.max_connections, room)
    return ConnectionBudget(cap, reserve_fds, nofile, cap < limits.max_connections)


def nofile_target(soft: int, hard: int) -> int:
    """The soft RLIMIT_NOFILE to set at start: the hard limit (RLIM_INFINITY is -1 here; then
    keep the soft one, which select()-free code does not need to raise further)."""
    if hard < 0:
        return soft
    return max(soft, hard)


def client_key(host: str) -> str:
    """The address a per-address cap counts: IPv4-mapped IPv6 as IPv4, anything unparsable as is."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


class Admission(enum.Enum):
    ADMIT = "admit"
    FULL = "full"  # max_connections reached
    ADDRESS_FULL = "address-full"  # max_per_address reached for this client


class ConnectionTable:
    """Open connections in total and per client address. Every admitted connection is released
    exactly once (the shell guarantees it); a release of an unknown key is ignored."""

    def __init__(self, max_connections: int, max_per_address: int) -> None:
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self.open = 0
        self._per_address: dict[str, int] = {}

    def admit(self, key: str) -> Admission:
        if self.open >= self.max_connections:
            return Admission.FULL
        held = self._per_address.get(key, 0)
        if held >= self.max_per_address:
            return Admission.ADDRESS_FULL
        self._per_address[key] = held + 1
        self.open += 1
        return Admission.ADMIT

    def release(self, key: str) -> None:
        held = self._per_address.get(key, 0)
        if held <= 0:
            return
        self.open -= 1
        if held == 1:
            del self._per_address[key]
        else:
            self._per_address[key] = held - 1

    def held_by(self, key: str) -> int:
        return self._per_address.get(key, 0)


class Head(enum.Enum):
    INCOMPLETE = "incomplete"
    COMPLETE = "complete"
    TOO_LARGE = "too-large"


@dataclass(frozen=True)
class HeadProgress:
    """What has been seen of a connection's first request head: its size and its last 3 bytes."""

    size: int = 0
    tail: bytes = b""


def head_progress(seen: HeadProgress, data: bytes, max_head_bytes: int) -> tuple[Head, HeadProgress]:
    """Whether the first request head is complete (the blank line: CRLF CRLF, or a bare LF LF, is
    in the bytes so far), still incomplete, or larger than `max_head_bytes` without its end."""
    window = seen.tail + data
    ends = [at + len(mark) for mark in (b"\r\n\r\n", b"\n\n") if (at := window.find(mark)) >= 0]
    if ends:
        end = min(ends)
        head_size = seen.size - len(seen.tail) + end
        return (Head.COMPLETE if head_size <= max_head_bytes else Head.TOO_LARGE), seen
    progress = HeadProgress(seen.size + len(data), window[-3:])
    return (Head.TOO_LARGE if progress.size > max_head_bytes else Head.INCOMPLETE), progress
