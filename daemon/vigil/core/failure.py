"""Classify why a camera session failed, from what the demuxer reported."""

from __future__ import annotations

import errno as errno_codes
import re

from vigil.core.media import DownReason

# What a message names rather than says: URLs (PyAV quotes the camera's, port and path included).
_URL = re.compile(r"\S+://\S*")

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

# RTSP statuses are the most specific hint, so they are looked at before the errno: a status number
# only as a number of its own (not inside 14010), and never inside a URL (a camera on port 46401
# was reported as refusing its password; one on 40404 as not found).
_BY_STATUS_TEXT = (
    (re.compile(r"(?<!\d)401(?!\d)|unauthorized"), DownReason.AUTH),
    (re.compile(r"(?<!\d)403(?!\d)|forbidden"), DownReason.AUTH),
    (re.compile(r"(?<!\d)404(?!\d)|not found"), DownReason.NOT_FOUND),
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
    """A DownReason for an exception's errno, class name and message (URLs in it are not read)."""
    text = _URL.sub(" ", f"{error_type} {message}".lower())
    for status, reason in _BY_STATUS_TEXT:
        if status.search(text):
            return reason
    if error_number is not None and error_number in _BY_ERRNO:
        return _BY_ERRNO[error_number]
    for needle, reason in _BY_TEXT:
        if needle in text:
            return reason
    return DownReason.ERROR
