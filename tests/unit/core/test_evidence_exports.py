"""Pure parts of evidence exports: canonical JSON, the manifest, gaps, request parsing, the
verifier's conclusions and the clip-frame comparison."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from vigil.core.clip_frames import Frame, RecordedSegment, compare_clip, expected_frames
from vigil.core.errors import BadRequestError, NotFoundError, NotReadyError, http_status
from vigil.core.evidence_check import FileSeen, ProblemKind, check_files, check_key, parse_manifest, verdict
from vigil.core.evidence_manifest import (
    CameraInfo,
    ClipInfo,
    ExportFacts,
    FileInfo,
    Gap,
    SegmentInfo,
    build_manifest,
    canonical_json,
    find_gaps,
)
from vigil.core.export_request import (
    CLOSE_MARGIN_NS,
    OVERDUE_RETRY_S,
    ExportRequest,
    parse_export_request,
    requested_cameras,
    require_complete_footage,
)
from vigil.core.timebase import NS_PER_SECOND

S = NS_PER_SECOND
T0 = 1_790_000_000 * S


def test_canonical_json_is_one_byte_form() -> None:
    a = canonical_json({"b": [1, {"z": None, "a": "é"}], "a": True})
    assert a == '{"a":true,"b":[1,{"a":"é","z":null}]}\n'.encode()
    assert canonical_json(json.loads(a)) == a
    with pytest.raises(TypeError, match="floats"):
        canonical_json({"x": 1.5})
    with pytest.raises(TypeError):
        canonical_json({"x": {1, 2}})


def _segment(i: int, camera: str = "cam", sha: str = "aa") -> SegmentInfo:
    return SegmentInfo(i, camera, 1, i, f"{camera}/main/2026-09-21/1-{i}.mp4", T0 + i * 10 * S, T0 + (i + 1) * 10 * S,
                       i * 900_000, 900_000, 150, 1000 + i, sha * 32, "h264", 320, 240, False)


def _manifest(files: list[FileInfo] | None = None, clips: dict[str, ClipInfo] | None = None) -> dict[str, Any]:
    facts = ExportFacts(7, "uuid-1", "springfield-usd", "hs-box", "user:alice", "incident", "PD-1", T0 + 5 * S,
                        T0 + 25 * S, T0 + 99 * S, "0.1.0", "PEM", "ff" * 32)
    segments = [_segment(1), _segment(0), _segment(2)]
    files = files if files is not None else [FileInfo(s.package_name, s.size_bytes, s.sha256) for s in segments]
    return build_manifest(facts, [CameraInfo("cam", "Door", "hs", "High School")], segments,
                          [Gap("cam", T0 + 30 * S, T0 + 31 * S, "timeout")], files, clips or {})


def test_manifest_is_deterministic_and_ordered() -> None:
    first, second = canonical_json(_manifest()), canonical_json(_manifest())
    assert first == second
    manifest = _manifest()
    assert [s["segment_id"] for s in manifest["segments"]] == [0, 1, 2]
    assert [f["name"] for f in manifest["files"]] == sorted(f["name"] for f in manifest["files"])
    assert manifest["range"]["start"] == "2026-09-21T14:13:25.000Z" and manifest["case_id"] == "PD-1"
    assert manifest["buildings"] == [{"id": "hs", "name": "High School"}]
    with pytest.raises(ValueError, match="unique"):
        _manifest([FileInfo("a", 1, "x"), FileInfo("a", 1, "x")])
    with pytest.raises(ValueError, match="unique"):
        _manifest([FileInfo("manifest.json", 1, "x")])


def test_gaps_at_start_middle_and_end_with_reasons() -> None:
    spans = [(T0 + 10 * S, T0 + 20 * S), (T0 + 20 * S, T0 + 30 * S), (T0 + 40 * S, T0 + 50 * S)]
    events = [(T0 + 5 * S, "refused"), (T0 + 31 * S, "timeout"), (T0 + 35 * S, "ended")]
    gaps = find_gaps("cam", spans, events, T0, T0 + 60 * S)
    assert gaps == [Gap("cam", T0, T0 + 10 * S, "refused"), Gap("cam", T0 + 30 * S, T0 + 40 * S, "timeout"),
                    Gap("cam", T0 + 50 * S, T0 + 60 * S, None)]
    assert find_gaps("cam", spans[:2], [], T0 + 12 * S, T0 + 28 * S) == []
    rounding = [(T0, T0 + 10 * S), (T0 + 10 * S + 999_999, T0 + 20 * S)]
    assert find_gaps("cam", rounding, [], T0, T0 + 20 * S) == []
    overlapping = [(T0, T0 + 20 * S), (T0 + 5 * S, T0 + 10 * S)]
    assert find_gaps("cam", overlapping, [], T0, T0 + 20 * S) == []
    assert find_gaps("cam", [], [(T0 - S, "auth")], T0, T0 + S) == [Gap("cam", T0, T0 + S, "auth")]


def _seen(manifest: dict[str, Any]) -> dict[str, FileSeen]:
    return {f["name"]: FileSeen(f["size_bytes"], f["sha256"]) for f in manifest["files"]}


def _kinds(problems: list[Any]) -> set[str]:
    return {p.kind.value for p in problems}


def test_file_checks_name_each_kind() -> None:
    manifest = _manifest()
    assert check_files(manifest, _seen(manifest)) == []
    name = manifest["files"][0]["name"]
    seen = _seen(manifest)
    del seen[name]
    assert _kinds(check_files(manifest, seen)) == {"missing_file"}
    seen = _seen(manifest) | {"extra.txt": FileSeen(1, "00")}
    assert _kinds(check_files(manifest, seen)) == {"extra_file"}
    seen = _seen(manifest) | {name: FileSeen(5, manifest["files"][0]["sha256"])}
    assert _kinds(check_files(manifest, seen)) == {"file_size"}
    seen = _seen(manifest) | {name: FileSeen(manifest["files"][0]["size_bytes"], "bb" * 32)}
    assert _kinds(check_files(manifest, seen)) == {"file_hash", "segment_hash"}
    # A manifest listing a segment under another hash than the one taken at record time.
    manifest["segments"][1]["sha256_at_record"] = "cc" * 32
    assert _kinds(check_files(manifest, _seen(manifest))) == {"segment_hash"}
    manifest["files"] = "nope"
    assert _kinds(check_files(manifest, {})) == {"manifest"}


def test_clip_must_be_a_listed_file() -> None:
    clip = ClipInfo("cam.mp4", 10, T0, T0 + S, None)
    manifest = _manifest(clips={"cam": clip})
    assert _kinds(check_files(manifest, _seen(manifest))) == {"manifest"}


@pytest.mark.parametrize(("key", "value"), [("cameras", 5), ("cameras", ["cam"]), ("range", None),
                                            ("range", {"start_wall_ns": "0", "end_wall_ns": 1})])
def test_malformed_camera_list_or_range_is_a_manifest_problem(key: str, value: Any) -> None:
    manifest = _manifest()
    assert check_files(manifest, _seen(manifest)) == []
    manifest[key] = value
    assert _kinds(check_files(manifest, _seen(manifest))) == {"manifest"}


def test_malformed_clip_stop_is_a_manifest_problem() -> None:
    clip = ClipInfo("cam.mp4", 10, T0, T0 + S, None)
    manifest = _manifest(clips={"cam": clip})
    manifest["files"].append({"name": "cam.mp4", "size_bytes": 10, "sha256": "aa" * 32})
    assert check_files(manifest, _seen(manifest)) == []
    manifest["cameras"][0]["clip"]["stopped_at_wall_ns"] = "soon"
    assert _kinds(check_files(manifest, _seen(manifest))) == {"manifest"}


def test_key_checks_and_exit_codes() -> None:
    fp, other = "ab" * 32, "cd" * 32
    assert check_key(fp, fp, None) == [] and check_key(fp.upper(), fp, fp) == []
    assert _kinds(check_key(fp, fp, other)) == {"key"} and _kinds(check_key(other, fp, None)) == {"key"}
    assert verdict([[]], key_pinned=True).exit_code == 0
    assert verdict([[]], key_pinned=False).exit_code == 3
    assert verdict([check_key(fp, fp, other)], key_pinned=True).exit_code == 1


def test_parse_manifest() -> None:
    good = canonical_json(_manifest())
    assert parse_manifest(good) == (json.loads(good), [])
    _, problems = parse_manifest(json.dumps(json.loads(good), indent=1).encode())
    assert [p.kind for p in problems] == [ProblemKind.MANIFEST] and "canonical" in problems[0].message
    assert parse_manifest(b"{")[0] is None and parse_manifest(b'{"format": "other"}')[0] is None


CAMS = {"hs-a": "hs", "hs-b": "hs", "ms-a": "ms"}


def test_request_cameras_and_fields() -> None:
    assert requested_cameras({"cameras": ["hs-b"], "buildings": ["ms"]}, CAMS) == ("hs-b", "ms-a")
    assert requested_cameras({"buildings": ["hs"]}, CAMS) == ("hs-a", "hs-b")
    with pytest.raises(NotFoundError, match="no camera 'x'"):
        requested_cameras({"cameras": ["x"]}, CAMS)
    with pytest.raises(NotFoundError, match="no building"):
        requested_cameras({"buildings": ["x"]}, CAMS)
    with pytest.raises(BadRequestError, match="at least one"):
        requested_cameras({}, CAMS)
    with pytest.raises(BadRequestError, match="list of ids"):
        requested_cameras({"cameras": "hs-a"}, CAMS)
    now = T0 + 3600 * S
    body: dict[str, Any] = {"start": str(T0 // S), "end": "2026-09-21T14:18:20Z", "reason": " why ", "case_id": "C-1"}
    request = parse_export_request(body, ("hs-a",), now)
    assert (request.start_wall_ns, request.end_wall_ns, request.reason) == (T0, T0 + 300 * S, "why")
    cases: list[tuple[dict[str, Any], str]] = [
                           ({"reason": " "}, "reason"), ({"reason": None}, "reason"), ({"case_id": 5}, "case_id"),
                           ({"start": None}, "start is required"), ({"end": str(T0 // S)}, "after start"),
                           ({"end": str(T0 // S + 90_000)}, "24 hours"), ({"start": "soon"}, "start:"),
                           ({"start": str(now // S + 10), "end": str(now // S + 20)}, "future")]
    for change, needle in cases:
        with pytest.raises(BadRequestError, match=needle):
            parse_export_request(body | change, ("hs-a",), now)


def _d(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _frames(n: int, gop: int = 3, step: int = 6000, tag: bytes = b"") -> tuple[Frame, ...]:
    return tuple(Frame(_d(tag + bytes([i])), 2, i * step, step, i % gop == 0) for i in range(n))


def _recording() -> list[RecordedSegment]:
    # Two contiguous segments of one run (0-1.2 s, 1.2-2.4 s: 18 frames of 1/15 s), then a 1.6 s gap.
    a = RecordedSegment(T0, T0 + 1_200_000_000, _frames(18, 6, tag=b"a"))
    b = RecordedSegment(T0 + 1_200_000_000, T0 + 2_400_000_000, _frames(18, 6, tag=b"b"))
    c = RecordedSegment(T0 + 4 * S, T0 + 5_200_000_000, _frames(18, 6, tag=b"c"))
    return [a, b, c]


def _as_clip(expected: list[Any]) -> list[Frame]:
    base = expected[0].clip_90k
    return [Frame(e.frame.sha256, e.frame.size_bytes, e.clip_90k - base, e.frame.duration_90k, e.frame.keyframe)
            for e in expected]


def test_expected_frames_start_at_the_keyframe_before_and_keep_gaps() -> None:
    rec = _recording()
    want = expected_frames(rec, T0 + 500_000_000, T0 + 4_500_000_000)  # 0.5 s: keyframe at 0.4 s (frame 6)
    assert want[0].frame.sha256 == _d(b"a\x06") and want[0].clip_90k == 0
    after_gap = next(e for e in want if e.frame.sha256 == _d(b"c\x00"))
    assert after_gap.clip_90k == 324_000  # 4.0 s - 0.4 s: the gap stays a gap
    assert want[-1].frame.sha256 == _d(b"c\x07")  # 4.4667 s starts before 4.5 s; 4.5333 s does not
    in_gap = expected_frames(rec, T0 + 3 * S, T0 + 5 * S)  # starts in the gap: the first keyframe after it
    assert in_gap[0].frame.sha256 == _d(b"c\x00")
    stopped = expected_frames(rec, T0 + 500_000_000, T0 + 6 * S, stopped_at_wall_ns=T0 + 4 * S)
    assert stopped[-1].frame.sha256 == _d(b"b\x11")


def test_compare_clip() -> None:
    rec = _recording()
    start, end = T0 + 500_000_000, T0 + 4_500_000_000
    clip = _as_clip(expected_frames(rec, start, end))
    assert compare_clip(clip, rec, start, end) == []
    altered = [*clip[:3], Frame(_d(b"a\x99"), 2, clip[3].dts_90k, 6000, False), *clip[4:]]
    assert "frame 3 differs" in compare_clip(altered, rec, start, end)[0]
    assert compare_clip(clip[:-1], rec, start, end) == ["the clip has 37 frames; the recording has 38 in the range"]
    assert "frame 0 differs" in compare_clip(clip[1:], rec, start, end)[0]  # not from the keyframe before start
    after = {_d(b"c" + bytes([i])) for i in range(18)}
    spliced = [f if f.sha256 not in after else Frame(f.sha256, 2, f.dts_90k - 100_000, 6000, f.keyframe)
               for f in clip]
    assert "ticks" in compare_clip(spliced, rec, start, end)[0]  # a gap closed up is not the recording


def _not_ready(end_ns: int, open_starts: dict[str, int], now_ns: int) -> NotReadyError:
    with pytest.raises(NotReadyError) as raised:
        require_complete_footage(ExportRequest(tuple(open_starts), T0, end_ns, "r", None), open_starts, 60 * S, now_ns)
    assert http_status(raised.value) == 409
    return raised.value


def test_export_reaching_into_the_segment_being_written_says_when() -> None:
    """Issue 12, #11: not "nothing was recorded" but when the range can be exported."""
    require_complete_footage(ExportRequest(("a",), T0, T0 + 60 * S, "r", None), {}, 60 * S, T0 + 90 * S)  # complete
    # The open segment began at T0 + 100 s; the range ends inside it, in the past: it closes at about T0 + 160 s.
    error = _not_ready(T0 + 130 * S, {"a": T0 + 100 * S}, T0 + 140 * S)
    assert error.retry_after_s == (20 * S + CLOSE_MARGIN_NS) // S
    assert "camera 'a' is still writing the footage from" in str(error) and "exported from about" in str(error)
    assert "nothing" not in str(error)
    # A range ending in the future, past the open segment's target: the segment holding the end closes later.
    assert _not_ready(T0 + 400 * S, {"a": T0 + 100 * S}, T0 + 140 * S).retry_after_s == (320 * S + CLOSE_MARGIN_NS) // S
    # Several cameras: the latest time, the earliest open segment named.
    error = _not_ready(T0 + 130 * S, {"b": T0 + 110 * S, "a": T0 + 100 * S}, T0 + 140 * S)
    assert error.retry_after_s == (30 * S + CLOSE_MARGIN_NS) // S and "camera 'a' (and 1 more)" in str(error)
    # Past the estimate and still open (recorder behind, disk away): ask again shortly, and say why.
    error = _not_ready(T0 + 130 * S, {"a": T0 + 100 * S}, T0 + 200 * S)
    assert error.retry_after_s == OVERDUE_RETRY_S and "should have closed" in str(error)
