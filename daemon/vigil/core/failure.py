"""Classify why a camera session failed, from what the demuxer reported."""

from __future__ import annotations

import errno as errno_codes

from vigil.core.media import DownReason

_BY_ERRNO = {
    errno_codes.ECONNREFUSED: DownReason.REFUSED,
    errno_codes.ETIMEDOUT: DownReason.TIMEOUT,
    errno_codes.EHOSTUNREACH: DownReason.UNREACHABLE,
    errno_codes.ENETUNREACH: DownReason.UNREACHABLE,
    errno_codes.ECONNRESET: DownReason.ENDED,
    errno_codes.EPIPE: DownReason.ENDED,
    errno_codes.EINVAL: DownReason.BAD_STREAM,
    # The appliance's own limits, not the camera's fault (and never a missing disk).
    errno_codes.EMFILE: DownReason.NO_RESOURCES,
    errno_codes.ENFILE: DownReason.NO_RESOURCES,
    errno_codes.ENOMEM: DownReason.NO_RESOURCES,
    errno_codes.ENOBUFS: DownReason.NO_RESOURCES,
}

# RTSP statuses are the most specific hint, so they are looked at before the errno.
_BY_STATUS_TEXT = (
    ("401", DownReason.AUTH),
    ("unauthorized", DownReason.AUTH),
    ("403", DownReason.AUTH),
    ("forbidden", DownReason.AUTH),
    ("404", DownReason.NOT_FOUND),
    ("not found", DownReason.NOT_FOUND),
)
_BY_TEXT = (
    ("too many open files", DownReason.NO_RESOURCES),
    ("timed out", DownReason.TIMEOUT),
    ("timeout", DownReason.TIMEOUT),
    ("connection refused", DownReason.REFUSED),
    ("end of file", DownReason.ENDED),
    ("invalid data", DownReason.BAD_STREAM),
    ("unsupported", DownReason.BAD_STREAM),
)


def classify_failure(error_number: int | None, error_type: str, message: str) -> DownReason:
    """A DownReason for an exception's errno, class name and message."""
    text = f"{error_type} {message}".lower()
    for needle, reason in _BY_STATUS_TEXT:
        if needle in text:
            return reason
    if error_number is not None and error_number in _BY_ERRNO:
        return _BY_ERRNO[error_number]
    for needle, reason in _BY_TEXT:
        if needle in text:
            return reason
    return DownReason.ERROR
