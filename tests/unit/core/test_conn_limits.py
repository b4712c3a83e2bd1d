"""The pure rules of what an unauthenticated client may hold (core.conn_limits), of the log's
budget (core.log_budget), and of what an error reading the disk's meta file means (core.hotplug)."""

from __future__ import annotations

import errno
import io
import logging

import pytest

from vigil.core.conn_limits import (
    MIN_CONNECTIONS,
    Admission,
    ConnectionLimits,
    ConnectionTable,
    Head,
    HeadProgress,
    client_key,
    effective_max_connections,
    fd_reserve,
    head_progress,
    nofile_target,
)
from vigil.core.failure import classify_failure
from vigil.core.hotplug import read_error_means_missing
from vigil.core.log_budget import LogBudget
from vigil.core.media import DownReason
from vigil.logs import RateLimitFilter, RedactingFilter


def test_total_and_per_address_caps_and_release_once() -> None:
    table = ConnectionTable(max_connections=4, max_per_address=2)
    assert [table.admit("10.0.0.1") for _ in range(3)] == [Admission.ADMIT, Admission.ADMIT, Admission.ADDRESS_FULL]
    assert table.admit("10.0.0.2") is Admission.ADMIT
    assert table.admit("10.0.0.2") is Admission.ADMIT
    assert table.admit("10.0.0.3") is Admission.FULL  # total reached, although this address holds none
    table.release("10.0.0.1")
    assert table.held_by("10.0.0.1") == 1 and table.open == 3
    table.release("10.0.0.9")  # never admitted: ignored, the count stays right
    assert table.open == 3
    assert table.admit("10.0.0.3") is Admission.ADMIT
    for key in ("10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3"):
        table.release(key)
    assert table.open == 0 and table.held_by("10.0.0.2") == 0


def test_connections_get_only_what_the_descriptor_limit_leaves_after_recording() -> None:
    limits = ConnectionLimits(max_connections=256)
    reserve = fd_reserve(cameras=16, max_viewers=16)
    assert reserve > 16 * 16 + 16 * 4  # every camera and viewer has room, plus the base
    roomy = effective_max_connections(limits, 65536, reserve)
    assert (roomy.max_connections, roomy.reduced) == (256, False)
    tight = effective_max_connections(limits, 700, reserve)
    assert tight.max_connections == 700 - reserve < 256 and tight.reduced
    assert "LimitNOFILE" in tight.message(256)
    assert not effective_max_connections(limits, 1024, reserve).reduced  # the old default soft limit suffices
    none_left = effective_max_connections(limits, reserve - 5, reserve)
    assert none_left.max_connections == 0 < MIN_CONNECTIONS


def test_limits_that_cannot_work_are_named() -> None:
    assert ConnectionLimits().problems() == []
    keys = [key for key, _ in ConnectionLimits(max_connections=8, max_per_address=9).problems()]
    assert keys == ["max_connections_per_address", "max_connections"]
    assert ConnectionLimits().header_bytes_max() == 33 * 8190


def test_nofile_target_is_the_hard_limit() -> None:
    assert nofile_target(1024, 524288) == 524288
    assert nofile_target(4096, 4096) == 4096
    assert nofile_target(1024, -1) == 1024  # RLIM_INFINITY: leave the soft limit


@pytest.mark.parametrize(("host", "key"), [
    ("::ffff:10.1.2.3", "10.1.2.3"), ("10.1.2.3", "10.1.2.3"), ("fe80::1%eth0", "fe80::1"),
    ("2001:DB8::1", "2001:db8::1"), ("not-an-address", "not-an-address"),
])
def test_client_key(host: str, key: str) -> None:
    assert client_key(host) == key


def test_request_head_end_is_found_across_reads() -> None:
    head, seen = head_progress(HeadProgress(), b"GET / HTTP/1.1\r\nHost: x\r\n", 100)
    assert head is Head.INCOMPLETE
    head, seen = head_progress(seen, b"\r", 100)
    assert head is Head.INCOMPLETE and seen.size == 26
    assert head_progress(seen, b"\n", 100)[0] is Head.COMPLETE  # the blank line split over three reads
    assert head_progress(HeadProgress(), b"GET / HTTP/1.1\nHost: x\n\n", 100)[0] is Head.COMPLETE
    assert head_progress(HeadProgress(), b"X-Slow: a\r\n", 100)[0] is Head.INCOMPLETE


def test_request_head_size_is_bounded() -> None:
    line = b"X-Pad: " + b"a" * 90 + b"\r\n"  # 99 bytes
    head, seen = head_progress(HeadProgress(), line * 10, 1000)
    assert head is Head.INCOMPLETE and seen.size == 990
    assert head_progress(seen, line, 1000)[0] is Head.TOO_LARGE  # 1089 bytes and no end yet
    assert head_progress(seen, b"\r\n", 1000)[0] is Head.COMPLETE  # 992: fits
    assert head_progress(seen, b"X: 12345678\r\n\r\n", 1000)[0] is Head.TOO_LARGE  # ends at 1007
    # a body after a small head does not count: the head ended at byte 18
    assert head_progress(HeadProgress(), b"GET / HTTP/1.1\r\n\r\n" + b"b" * 5000, 1000)[0] is Head.COMPLETE


def test_log_budget_suppresses_and_then_says_how_many() -> None:
    budget = LogBudget(burst=3, window_s=10.0, max_kinds=2)
    kind = ("vigil.api.listener", logging.WARNING, "MainThread", "refused %s")
    verdicts = [budget.admit(kind, 100.0 + i * 0.01) for i in range(1000)]
    assert sum(v.emit for v in verdicts) == 3
    after = budget.admit(kind, 111.0)
    assert after.emit and after.suppressed_before == 997 and after.suppressed_since_s == pytest.approx(100.03)
    other = ("vigil.app", logging.INFO, "MainThread", "camera %s: up")
    assert budget.admit(other, 111.0).emit  # another kind has its own budget
    budget.admit(("x", 20, "t", "y"), 111.0)  # a third kind: the oldest (kind) is forgotten
    assert budget.admit(kind, 111.1).suppressed_before == 0


def test_rate_limit_filter_on_a_real_handler() -> None:
    now = [0.0]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RateLimitFilter(LogBudget(burst=5, window_s=10.0), clock_s=lambda: now[0]))
    handler.addFilter(RedactingFilter(["s3cret"]))
    logger = logging.getLogger("vigil.test.ratelimit")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for i in range(5000):
            logger.warning("socket.accept() failed: %s (client %d, s3cret)", "Too many open files", i)
        now[0] = 12.0
        logger.warning("socket.accept() failed: %s (client %d, s3cret)", "Too many open files", 5000)
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 6, lines
    assert lines[-1] == ("socket.accept() failed: Too many open files (client 5000, ***)"
                         " [4995 similar messages suppressed in the last 12 s]")


@pytest.mark.parametrize(("error_number", "missing"), [
    (errno.ENOENT, True), (errno.EIO, True), (errno.ENODEV, True), (errno.ENOTCONN, True),
    (errno.EMFILE, False), (errno.ENFILE, False), (errno.ENOMEM, False), (errno.EACCES, False),
    (errno.EINTR, False), (None, False),
])
def test_only_disk_gone_errors_mean_missing(error_number: int | None, missing: bool) -> None:
    assert read_error_means_missing(error_number) is missing


def test_out_of_descriptors_is_not_the_cameras_fault() -> None:
    assert classify_failure(errno.EMFILE, "OSError", "[Errno 24] Too many open files") is DownReason.NO_RESOURCES
    assert classify_failure(None, "FFmpegError", "Too many open files") is DownReason.NO_RESOURCES
    assert classify_failure(errno.ENFILE, "OSError", "file table overflow") is DownReason.NO_RESOURCES


def test_access_log_is_budgeted_per_client() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RateLimitFilter(LogBudget(burst=3, window_s=10.0), clock_s=lambda: 0.0))
    logger = logging.getLogger("aiohttp.access")
    saved = logger.propagate
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for i in range(100):  # each line differs, as aiohttp's do: the client address is the kind
            logger.info("10.0.0.9 \"GET /api/x%d HTTP/1.1\" 401", i, extra={"remote_address": "10.0.0.9"})
        logger.info("10.0.0.7 \"GET /api/health HTTP/1.1\" 200", extra={"remote_address": "10.0.0.7"})
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("10.0.0.7"), lines
