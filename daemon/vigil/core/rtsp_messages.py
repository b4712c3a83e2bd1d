"""RTSP 1.0 framing, sans-IO (RFC 2326 §§4-10, 10.12): bytes in, messages out, in the style of h11.

`RtspReader` is fed whatever the socket delivered and hands back complete events: an
`RtspResponse` (a client's view), an `RtspRequest` (a server's view: the simulated cameras use it)
or an `InterleavedFrame` (`$`, channel, 16-bit length, data: RTP/RTCP over the RTSP connection).
`encode_request`, `encode_response` and `encode_interleaved` make the bytes to send.

Rules:
- A message is a start line, header lines and an empty line (CRLF; a bare LF is accepted), then
  exactly `Content-Length` bytes of body (none without the header). Header names are matched
  case-insensitively; a repeated header keeps every value, `header()` returns the first.
- Bounds: a message head longer than MAX_HEAD_BYTES, a body longer than MAX_BODY_BYTES or more
  than MAX_HEADERS header lines is a protocol error. An interleaved frame is at most 65535 bytes by
  construction. So the reader never holds more than one head + body + one frame of input.
- Anything malformed raises `RtspProtocolError` (a ValueError) and the reader is then unusable:
  the connection must be closed.
- `parse_session` reads `Session: id[;timeout=s]` (default timeout 60 s, §12.37);
  `parse_interleaved` reads the `interleaved=a-b` channels of a Transport header;
  `parse_transport` reads the first transport of a server's Transport header (§12.39): its
  protocol, interleaved channels, server ports, ssrc (hex) and whether it is multicast; a value
  that cannot be read is None (a missing second number is the first + 1).

Nothing here knows about sockets, asyncio or clocks; issue 19's own RTSP ingest builds on it."""

from __future__ import annotations

from dataclasses import dataclass

MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 256 * 1024
MAX_HEADERS = 64
DEFAULT_SESSION_TIMEOUT_S = 60
RTSP_VERSION = "RTSP/1.0"

Headers = tuple[tuple[str, str], ...]


class RtspProtocolError(ValueError):
    """The peer sent something that is not RTSP 1.0 as this reader accepts it."""


@dataclass(frozen=True)
class RtspResponse:
    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return _first(self.headers, name)

    def headers_named(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass(frozen=True)
class RtspRequest:
    method: str
    uri: str
    headers: Headers
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return _first(self.headers, name)


@dataclass(frozen=True, slots=True)
class InterleavedFrame:
    channel: int
    data: bytes


# The hot path fills an InterleavedFrame through its slots (as core/rtp.parse_rtp does an RtpPacket):
# a frozen dataclass's __init__ sets each field through object.__setattr__.
_new_frame = object.__new__
_set_channel = InterleavedFrame.__dict__["channel"].__set__
_set_data = InterleavedFrame.__dict__["data"].__set__


RtspEvent = RtspResponse | RtspRequest | InterleavedFrame


def _first(headers: Headers, name: str) -> str | None:
    lower = name.lower()
    for key, value in headers:
        if key.lower() == lower:
            return value
    return None


def _check_token(text: str, what: str) -> None:
    if not text or any(c in text for c in "\r\n\0") or len(text) > MAX_HEAD_BYTES:
        raise ValueError(f"bad RTSP {what}: {text[:40]!r}")


def _encode(start: str, headers: Headers, body: bytes) -> bytes:
    lines = [start]
    for name, value in headers:
        _check_token(name, "header name")
        if any(c in value for c in "\r\n\0"):
            raise ValueError(f"bad RTSP header value for {name}")
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def encode_request(method: str, uri: str, cseq: int, headers: Headers = (), body: bytes = b"") -> bytes:
    """The bytes of a request; CSeq first, Content-Length added when there is a body."""
    _check_token(method, "method")
    _check_token(uri, "uri")
    if " " in method or " " in uri:
        raise ValueError("RTSP method and URI must not contain spaces")
    return _encode(f"{method} {uri} {RTSP_VERSION}", (("CSeq", str(cseq)), *headers), body)


def encode_response(status: int, reason: str, cseq: str | None, headers: Headers = (), body: bytes = b"") -> bytes:
    """The bytes of a response (for the simulated cameras), echoing the request's CSeq."""
    if not 100 <= status <= 999:
        raise ValueError(f"bad RTSP status {status}")
    first: Headers = (("CSeq", cseq),) if cseq is not None else ()
    return _encode(f"{RTSP_VERSION} {status} {reason}", (*first, *headers), body)


def encode_interleaved(channel: int, data: bytes) -> bytes:
    """`$`, channel, length, data (RFC 2326 §10.12)."""
    if not 0 <= channel <= 255 or len(data) > 0xFFFF:
        raise ValueError("interleaved channel 0-255 and at most 65535 bytes")
    return b"$" + bytes((channel,)) + len(data).to_bytes(2, "big") + data


class RtspReader:
    """Incremental parser for one RTSP connection (either direction)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._head: tuple[str, Headers] | None = None
        self._body_len = 0
        self._broken = False

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        if self._broken:
            raise RtspProtocolError("the reader already failed: close the connection")
        self._buf += data

    def next_event(self) -> RtspEvent | None:
        """The next complete event, or None when more bytes are needed."""
        if self._broken:
            raise RtspProtocolError("the reader already failed: close the connection")
        buf = self._buf
        if self._head is None and buf and buf[0] == 0x24:  # '$': the hot path (every RTP packet over TCP)
            have = len(buf)
            if have < 4:
                return None
            end = 4 + ((buf[2] << 8) | buf[3])
            if have < end:
                return None
            frame = _new_frame(InterleavedFrame)
            _set_channel(frame, buf[1])
            _set_data(frame, bytes(buf[4:end]))
            del buf[:end]
            return frame
        try:
            return self._next()
        except RtspProtocolError:
            self._broken = True
            raise

    def _next(self) -> RtspEvent | None:
        if self._head is None:
            if not self._buf:
                return None
            end, sep_len = _head_end(self._buf)
            if end < 0:
                if len(self._buf) > MAX_HEAD_BYTES:
                    raise RtspProtocolError(f"message head longer than {MAX_HEAD_BYTES} bytes")
                return None
            if end > MAX_HEAD_BYTES:
                raise RtspProtocolError(f"message head longer than {MAX_HEAD_BYTES} bytes")
            head = bytes(self._buf[:end])
            del self._buf[: end + sep_len]
            self._head = _parse_head(head)
            self._body_len = _content_length(self._head[1])
        if len(self._buf) < self._body_len:
            return None
        start, headers = self._head
        body = bytes(self._buf[: self._body_len])
        del self._buf[: self._body_len]
        self._head = None
        return _message(start, headers, body)


def _head_end(buf: bytearray) -> tuple[int, int]:
    crlf = buf.find(b"\r\n\r\n")
    lf = buf.find(b"\n\n")
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf, 2
    return (crlf, 4) if crlf >= 0 else (-1, 0)


def _parse_head(head: bytes) -> tuple[str, Headers]:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RtspProtocolError("message head is not UTF-8") from e
    lines = [line.rstrip("\r") for line in text.split("\n")]
    if len(lines) - 1 > MAX_HEADERS:
        raise RtspProtocolError(f"more than {MAX_HEADERS} header lines")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or name != name.strip() or "\0" in line:
            raise RtspProtocolError(f"bad header line {line[:60]!r}")
        headers.append((name, value.strip()))
    return lines[0], tuple(headers)


def _content_length(headers: Headers) -> int:
    value = _first(headers, "Content-Length")
    if value is None:
        return 0
    if not value.isdigit() or not value.isascii():
        raise RtspProtocolError(f"bad Content-Length {value[:20]!r}")
    length = int(value)
    if length > MAX_BODY_BYTES:
        raise RtspProtocolError(f"body of {length} bytes is longer than {MAX_BODY_BYTES}")
    return length


def _message(start: str, headers: Headers, body: bytes) -> RtspResponse | RtspRequest:
    parts = start.split(" ", 2)
    if start.startswith("RTSP/"):
        status = parts[1] if len(parts) >= 2 else ""
        if parts[0] != RTSP_VERSION or len(status) != 3 or not (status.isascii() and status.isdigit()):
            raise RtspProtocolError(f"bad status line {start[:60]!r}")
        return RtspResponse(int(parts[1]), parts[2] if len(parts) == 3 else "", headers, body)
    if len(parts) != 3 or parts[2] != RTSP_VERSION or not parts[0] or not parts[1]:
        raise RtspProtocolError(f"bad request line {start[:60]!r}")
    return RtspRequest(parts[0], parts[1], headers, body)


def parse_session(value: str) -> tuple[str, int]:
    """(session id, timeout in seconds) from a Session header."""
    sid, _, params = value.partition(";")
    sid = sid.strip()
    if not sid or len(sid) > 256:
        raise RtspProtocolError(f"bad Session header {value[:40]!r}")
    timeout_s = DEFAULT_SESSION_TIMEOUT_S
    for param in params.split(";"):
        key, _, v = param.strip().partition("=")
        if key.lower() == "timeout" and v.strip().isdigit() and v.strip().isascii():
            timeout_s = max(1, min(int(v.strip()), 3600))
    return sid, timeout_s


def parse_interleaved(transport: str) -> tuple[int, int] | None:
    """The `interleaved=a-b` channels of a Transport header, if any and valid."""
    for param in transport.split(";"):
        key, _, v = param.strip().partition("=")
        if key.lower() == "interleaved":
            a, _, b = v.partition("-")
            if a.isdigit() and a.isascii() and int(a) <= 255:
                second = int(b) if b.isdigit() and b.isascii() else int(a) + 1
                return int(a), second if second <= 255 else int(a)
            return None
    return None


@dataclass(frozen=True)
class TransportAnswer:
    """The first transport of a Transport header, as a server answers a SETUP."""

    protocol: str  # upper-cased: "RTP/AVP", "RTP/AVP/UDP", "RTP/AVP/TCP"
    interleaved: tuple[int, int] | None
    server_ports: tuple[int, int] | None
    ssrc: int | None
    multicast: bool


_HEX = frozenset("0123456789abcdefABCDEF")


def _port_pair(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    a, _, b = text.partition("-")
    if not (a.isascii() and a.isdigit() and len(a) <= 5) or int(a) > 65535:
        return None
    second = int(b) if b.isascii() and b.isdigit() and len(b) <= 5 and int(b) <= 65535 else int(a) + 1
    return int(a), min(second, 65535)


def parse_transport(value: str) -> TransportAnswer:
    """The first transport of a Transport header (see the module rules)."""
    first = value.split(",", 1)[0]
    protocol, *params = first.split(";")
    parsed: dict[str, str] = {}
    for param in params:
        key, _, v = param.strip().partition("=")
        parsed[key.strip().lower()] = v.strip()
    ssrc_text = parsed.get("ssrc", "")
    ssrc = int(ssrc_text, 16) if 0 < len(ssrc_text) <= 8 and all(c in _HEX for c in ssrc_text) else None
    return TransportAnswer(protocol.strip().upper(), parse_interleaved(first), _port_pair(parsed.get("server_port")),
                           ssrc, "multicast" in parsed)
