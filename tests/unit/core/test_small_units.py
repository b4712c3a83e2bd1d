"""Rotation, backoff, health transitions, wall-clock anchoring, failure classes, parameter sets."""

from __future__ import annotations

import errno

import pytest

from vigil.core.backoff import BackoffPolicy
from vigil.core.camera_health import CameraHealth
from vigil.core.errors import BadRequestError, ConfigError, NotFoundError, StorageError, VigilError, http_status
from vigil.core.failure import classify_failure
from vigil.core.h26x import has_complete_parameter_sets, iter_nal_units, parameter_sets, with_parameter_sets
from vigil.core.media import Codec, DownReason
from vigil.core.rotation import CutReason, RotationPolicy
from vigil.core.timebase import parse_time_ns, ticks_to_ns, wall_ns_to_iso
from vigil.core.wallclock import anchor_wall_ns, continued_wall_ns

SPS, PPS, IDR, SLICE = b"\x67\x64\x00\x1f", b"\x68\xee", b"\x65\x88\x84", b"\x41\x9a"


def test_rotation_cuts_only_on_keyframes_after_target() -> None:
    p = RotationPolicy(target_90k=90_000 * 60)
    kw = {"segment_target_90k": p.target_90k, "segment_start_90k": 0, "parameters_changed": False}
    assert p.cut_before(dts_90k=90_000 * 61, is_keyframe=False, **kw) is None  # type: ignore[arg-type]
    assert p.cut_before(dts_90k=90_000 * 59, is_keyframe=True, **kw) is None  # type: ignore[arg-type]
    assert p.cut_before(dts_90k=90_000 * 60, is_keyframe=True, **kw) is CutReason.DURATION  # type: ignore[arg-type]
    kw["parameters_changed"] = True
    assert p.cut_before(dts_90k=1, is_keyframe=True, **kw) is CutReason.PARAMETERS_CHANGED  # type: ignore[arg-type]


def test_first_segment_is_staggered_per_camera() -> None:
    p = RotationPolicy(target_90k=90_000 * 60)
    targets = {p.first_target_90k(f"cam-{i}") for i in range(16)}
    assert len(targets) > 8
    assert all(p.target_90k // 2 <= t < p.target_90k for t in targets)
    assert p.first_target_90k("cam-1") == p.first_target_90k("cam-1")


def test_backoff_first_retry_fast_then_capped() -> None:
    b = BackoffPolicy()
    assert b.delay_s(0, 0.999) <= 1.0
    assert b.delay_s(50, 0.999) <= b.max_delay_s
    assert b.delay_s(3, 0.0) == pytest.approx(b.first_delay_s * 8 / 2)
    assert b.next_attempt(4, connected_for_s=60) == 0
    assert b.next_attempt(4, connected_for_s=1) == 5
    with pytest.raises(ValueError, match="attempt"):
        b.delay_s(-1, 0.5)


def test_health_reports_transitions_once() -> None:
    h = CameraHealth()
    down = h.failed(DownReason.REFUSED, 100)
    assert down is not None and down.kind == "camera_down" and down.reason is DownReason.REFUSED
    assert h.failed(DownReason.REFUSED, 200) is None
    assert h.failed(DownReason.TIMEOUT, 300) is None  # still the same outage
    assert h.reason is DownReason.TIMEOUT
    up = h.connected(1100)
    assert up.kind == "camera_up" and up.down_for_ns == 1000
    assert h.connected(1200).down_for_ns is None


def test_wall_anchor_continues_until_drift_exceeds_limit() -> None:
    assert continued_wall_ns(None, 5) == (5, False)
    assert continued_wall_ns(1_000, 1_000 + 900_000_000) == (1_000, False)
    assert continued_wall_ns(1_000, 1_000 + 2_000_000_000) == (1_000 + 2_000_000_000, True)


@pytest.mark.parametrize(("num", "kind", "text", "reason"), [
    (errno.ECONNREFUSED, "ConnectionRefusedError", "Connection refused", DownReason.REFUSED),
    (None, "HTTPUnauthorizedError", "Server returned 401 Unauthorized", DownReason.AUTH),
    (None, "HTTPNotFoundError", "Server returned 404 Not Found", DownReason.NOT_FOUND),
    (errno.ETIMEDOUT, "TimeoutError", "Connection timed out", DownReason.TIMEOUT),
    (None, "InvalidDataError", "Invalid data found when processing input", DownReason.BAD_STREAM),
    (None, "ValueError", "something else", DownReason.ERROR),
])
def test_failure_classification(num: int | None, kind: str, text: str, reason: DownReason) -> None:
    assert classify_failure(num, kind, text) is reason


def test_parameter_sets_found_and_reinserted() -> None:
    au = b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x01" + PPS + b"\x00\x00\x01" + IDR
    assert list(iter_nal_units(au)) == [SPS, PPS, IDR]
    extradata = parameter_sets(Codec.H264, au)
    assert extradata == b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x00\x01" + PPS
    assert has_complete_parameter_sets(Codec.H264, extradata)
    bare = b"\x00\x00\x00\x01" + IDR
    assert with_parameter_sets(Codec.H264, bare, extradata) == extradata + bare
    assert with_parameter_sets(Codec.H264, au, extradata) == au
    assert parameter_sets(Codec.H264, b"\x00\x00\x01" + SLICE) == b""
    assert parameter_sets(Codec.H264, au + au) == extradata  # repeated sets are kept once


def test_time_units_and_parsing() -> None:
    assert ticks_to_ns(90_000) == 1_000_000_000
    assert wall_ns_to_iso(1_700_000_000_123_000_000) == "2023-11-14T22:13:20.123Z"
    # Half a microsecond before a second: not a second late (a float of the ns rounded it up).
    assert wall_ns_to_iso(1_796_215_709_999_999_800) == "2026-12-02T12:48:29.999Z"
    assert parse_time_ns(wall_ns_to_iso(1_796_215_709_999_999_800)) == 1_796_215_709_999_000_000
    assert parse_time_ns("2023-11-14T22:13:20.123Z") == 1_700_000_000_123_000_000
    assert parse_time_ns("1700000000") == 1_700_000_000 * 10**9
    with pytest.raises(ValueError, match="neither ISO 8601"):
        parse_time_ns("yesterday")


def test_error_table_maps_each_kind() -> None:
    assert http_status(BadRequestError("x")) == 400
    assert http_status(NotFoundError("x")) == 404
    assert http_status(StorageError("x")) == 503
    assert http_status(ConfigError("x")) == 400
    assert http_status(VigilError("x")) == 500


def test_the_camera_s_own_time_anchors_when_it_is_close_to_the_arrival() -> None:
    arrival = 1_800_000_000 * 10**9
    assert anchor_wall_ns(arrival, None) == arrival
    assert anchor_wall_ns(arrival, arrival - 40_000_000) == arrival - 40_000_000  # 40 ms in the network
    assert anchor_wall_ns(arrival, arrival + 5 * 10**9) == arrival  # a camera clock 5 s off is not trusted
