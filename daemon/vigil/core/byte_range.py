"""HTTP byte ranges (RFC 9110 §14) for responses whose size is known before the first byte.

One `Range: bytes=…` header is parsed against the body's size. Malformed headers and requests for
several ranges at once are refused (400) rather than silently ignored, so a client never mistakes
a full body for the part it asked for; a well-formed range outside the body is unsatisfiable (416).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vigil.core.errors import BadRequestError, RangeNotSatisfiableError

_SPEC = re.compile(r"(\d*)-(\d*)")
_MAX_DIGITS = 19  # anything longer is beyond any body we serve (and beyond int64)


@dataclass(frozen=True)
class ByteRange:
    first: int  # inclusive
    last: int  # inclusive

    @property
    def size_bytes(self) -> int:
        return self.last - self.first + 1

    def content_range(self, total_bytes: int) -> str:
        return f"bytes {self.first}-{self.last}/{total_bytes}"


def parse_range(header: str | None, total_bytes: int) -> ByteRange | None:
    """The one range a `Range` header asks for, or None for the whole body (no header).

    Raises BadRequestError (malformed, another unit, several ranges) or RangeNotSatisfiableError."""
    if header is None:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        raise BadRequestError(f"Range {header!r}: only 'bytes=first-last' ranges are supported")
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != 1:
        raise BadRequestError(f"Range {header!r}: ask for one range per request (multipart answers are not served)")
    match = _SPEC.fullmatch(parts[0])
    if match is None or match.group(1) == match.group(2) == "" or any(len(g) > _MAX_DIGITS for g in match.groups()):
        raise BadRequestError(f"Range {header!r}: not of the form bytes=first-last, bytes=first- or bytes=-suffix")
    first_text, last_text = match.groups()
    if first_text == "":  # suffix: the last N bytes
        suffix = int(last_text)
        if suffix == 0 or total_bytes == 0:
            raise RangeNotSatisfiableError(f"Range {header!r}: an empty suffix selects nothing", total_bytes)
        return ByteRange(max(0, total_bytes - suffix), total_bytes - 1)
    first = int(first_text)
    last = max(first, total_bytes - 1) if last_text == "" else int(last_text)
    if last < first:
        raise BadRequestError(f"Range {header!r}: the last byte is before the first")
    if first >= total_bytes:
        raise RangeNotSatisfiableError(
            f"Range {header!r}: starts at byte {first} but the body has {total_bytes} bytes", total_bytes)
    return ByteRange(first, min(last, total_bytes - 1))
