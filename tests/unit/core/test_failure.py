"""core/failure.classify_failure: what a failed camera session is reported as."""

from __future__ import annotations

import errno

import pytest

from vigil.core.failure import classify_failure
from vigil.core.media import DownReason

INVALID_DATA = 1094995529  # AVERROR_INVALIDDATA as PyAV reports it


@pytest.mark.parametrize(("error_number", "message", "reason"), [
    # PyAV names the camera's URL in its message: a status number in the port or path means nothing.
    # (A CI run: the camera answering garbage on port 46401 was reported as "auth", and a refused
    # one on a port with 404 in it as "not_found".)
    (INVALID_DATA, "[Errno 1094995529] Invalid data found when processing input: 'rtsp://127.0.0.1:46401/x'",
     DownReason.BAD_STREAM),
    (errno.ECONNREFUSED, "[Errno 111] Connection refused: 'rtsp://127.0.0.1:40404/x'", DownReason.REFUSED),
    (errno.ECONNREFUSED, "[Errno 111] Connection refused: 'rtsp://127.0.0.1:554/cam/404/x'", DownReason.REFUSED),
    (None, "Invalid data found when processing input: 'rtsp://10.0.0.4:8403/not-found-here'", DownReason.BAD_STREAM),
    (None, "stream 14010 ended", DownReason.ERROR),  # a number that only contains a status
    # The statuses themselves still decide.
    (INVALID_DATA, "[Errno 1094995529] Server returned 401 Unauthorized (authorization failed): "
                   "'rtsp://127.0.0.1:8554/x'", DownReason.AUTH),
    (None, "method DESCRIBE failed: 403 Forbidden", DownReason.AUTH),
    (None, "Server returned 404 Not Found: 'rtsp://127.0.0.1:40401/x'", DownReason.NOT_FOUND),
    (errno.ECONNREFUSED, "[Errno 111] Connection refused", DownReason.REFUSED),
])
def test_a_status_is_read_from_the_message_never_from_its_url(error_number: int | None, message: str,
                                                               reason: DownReason) -> None:
    assert classify_failure(error_number, "InvalidDataError", message) is reason
