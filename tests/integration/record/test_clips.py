"""Clips built from real segment files (written by the recorder's SegmentWriter), judged by ffprobe."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.clip_recordings import T0, Recordings, Units, hvcc_copies
from vigil.clips import ClipPlan, iter_clip_bytes, plan_clip, plan_from_segments
from vigil.clips.boxes import ClipSourceError
from vigil.clips.clip import segment_path
from vigil.clips.segment_file import read_segment_file
from vigil.core.errors import NotFoundError, NotReadyError
from vigil.core.h26x import iter_nal_units, parameter_sets
from vigil.core.media import Codec
from vigil.core.mp4_boxes import boxes
from vigil.core.timebase import NS_PER_SECOND
from vigil.record import writer

S = NS_PER_SECOND


def probe(path: Path) -> dict[str, str]:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_name,codec_tag_string,width,height,nb_read_frames:format=duration",
                          "-of", "default=nw=1", str(path)], capture_output=True, text=True, check=True)
    return dict(line.split("=", 1) for line in out.stdout.split())


def decode_errors(path: Path) -> str:
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                         capture_output=True, text=True, check=False)
    return out.stderr.strip() + ("" if out.returncode == 0 else f" (exit {out.returncode})")


def write_clip(plan: ClipPlan, path: Path) -> Path:
    with path.open("wb") as f:
        for chunk in iter_clip_bytes(plan):
            f.write(chunk)
    return path


def test_clip_across_three_segments_is_the_recorded_frames(tmp_path: Path, h264_units: Units) -> None:
    rec = Recordings(tmp_path)
    for n in range(4):  # four contiguous 4 s segments: 100 s .. 116 s
        rec.add(T0 + n * 4 * S, h264_units)
    plan = plan_clip(rec.index, "cam", T0 + int(2.5 * S), T0 + int(13.2 * S))
    clip = write_clip(plan, tmp_path / "clip.mp4")
    assert clip.stat().st_size == plan.size_bytes
    info = probe(clip)
    # From the keyframe at 2 s to the last frame decoding before 13.2 s (13.0, 13.067, 13.133).
    expected_frames = (13 - 2) * 15 + 3
    assert int(info["nb_read_frames"]) == plan.frame_count == expected_frames
    assert abs(float(info["duration"]) - expected_frames / 15) < 0.01
    assert plan.first_frame_wall_ns == T0 + 2 * S and plan.gaps == ()
    assert [s.frames_used for s in plan.segments] == [30, 60, 60, 18]
    assert all(s.complete and s.sha256 for s in plan.segments)
    assert decode_errors(clip) == ""
    # Stream-copied: the clip's packets are the recorded access units, byte for byte.
    with av.open(str(clip)) as c:
        got = [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]
    recorded = []
    for seg in plan.segments:
        with av.open(str(seg.path)) as c:
            recorded += [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]
    assert got == recorded[30:30 + expected_frames]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.data())
def test_any_byte_range_is_the_same_slice_of_the_whole(tmp_path: Path, h264_units: Units, data: st.DataObject
                                                        ) -> None:
    rec = Recordings(tmp_path / str(time.monotonic_ns()))
    for n in range(4):
        rec.add(T0 + n * 4 * S, h264_units)
    plan = plan_clip(rec.index, "cam", T0 + S, T0 + int(14.5 * S))  # two whole segments inside, one cut
    assert any(p.shift for p in plan.pieces)
    whole = b"".join(iter_clip_bytes(plan))
    assert len(whole) == plan.size_bytes
    edges = [p.clip_offset for p in plan.pieces]
    point = st.one_of(st.integers(0, plan.size_bytes - 1), st.sampled_from(edges),
                      st.sampled_from([max(0, e - 1) for e in edges]))
    a, b = sorted((data.draw(point), data.draw(point)))
    chunk = data.draw(st.sampled_from([7, 4096, 1 << 20]))
    assert b"".join(iter_clip_bytes(plan, a, b, chunk_bytes=chunk)) == whole[a:b + 1]


def test_whole_segments_summarized_or_read_give_the_same_clip(tmp_path: Path, h264_units: Units) -> None:
    rec = Recordings(tmp_path)
    for n in range(5):
        rec.add(T0 + n * 4 * S, h264_units)
    rec.add(T0 + 24 * S, h264_units, new_run=True)  # after a 4 s gap
    rows = [(r, segment_path(rec.index, r)) for r in rec.index.segments("cam")]
    fast = plan_from_segments("cam", rows, T0 + int(2.5 * S), T0 + 26 * S)
    slow = plan_from_segments("cam", rows, T0 + int(2.5 * S), T0 + 26 * S, summarize=False)
    assert sum(p.shift is not None for p in fast.pieces) == 4 and not any(p.shift for p in slow.pieces)
    for field in ("size_bytes", "frame_count", "duration_90k", "gaps", "first_frame_wall_ns", "end_wall_ns"):
        assert getattr(fast, field) == getattr(slow, field), field
    assert [(s.segment_id, s.frames_used) for s in fast.segments] == [(s.segment_id, s.frames_used)
                                                                      for s in slow.segments]
    packets = []
    for plan, name in ((fast, "fast.mp4"), (slow, "slow.mp4")):
        with av.open(str(write_clip(plan, tmp_path / name))) as c:
            packets.append([(bytes(p), p.pts, p.dts, p.is_keyframe) for p in c.demux(c.streams.video[0]) if p.size])
        assert decode_errors(tmp_path / name) == ""
    assert packets[0] == packets[1] and len(packets[0]) == fast.frame_count


def test_gap_between_runs_keeps_true_time(tmp_path: Path, h264_units: Units) -> None:
    rec = Recordings(tmp_path)
    rec.add(T0, h264_units)
    rec.add(T0 + 10 * S, h264_units, new_run=True)  # the camera was away for 6 s
    plan = plan_clip(rec.index, "cam", T0, T0 + 14 * S)
    assert plan.gaps == ((T0 + 4 * S, T0 + 10 * S),)
    clip = write_clip(plan, tmp_path / "clip.mp4")
    assert int(probe(clip)["nb_read_frames"]) == plan.frame_count == 2 * len(h264_units)
    assert abs(float(probe(clip)["duration"]) - 14.0) < 0.01  # the gap is kept, not spliced
    assert decode_errors(clip) == ""


def test_resolution_change_ends_the_clip_there(tmp_path: Path, h264_units: Units, h264_units_360p: Units) -> None:
    rec = Recordings(tmp_path)
    rec.add(T0, h264_units)
    rec.add(T0 + 4 * S, h264_units_360p)
    plan = plan_clip(rec.index, "cam", T0, T0 + 8 * S)
    assert plan.stopped_at_wall_ns == T0 + 4 * S and (plan.width, plan.height) == (320, 240)
    assert plan.frame_count == len(h264_units) and len(plan.segments) == 1
    later = plan_clip(rec.index, "cam", T0 + 5 * S, T0 + 8 * S)  # asking from the change on works
    info = probe(write_clip(later, tmp_path / "later.mp4"))
    assert (info["width"], info["height"]) == ("640", "360") and later.stopped_at_wall_ns is None


def test_segment_being_written_contributes_its_complete_fragments(tmp_path: Path, h264_units: Units) -> None:
    rec = Recordings(tmp_path)
    rec.add(T0, h264_units)
    path = rec.add(T0 + 4 * S, h264_units, complete=False)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) * 2 // 3])  # the writer is mid-fragment
    plan = plan_clip(rec.index, "cam", T0, T0 + 8 * S)
    assert not plan.segments[1].complete and plan.segments[1].sha256 is None
    assert plan.frame_count == len(h264_units) + plan.segments[1].frames_used
    assert 0 < plan.segments[1].frames_used < len(h264_units)
    assert decode_errors(write_clip(plan, tmp_path / "clip.mp4")) == ""
    exported = plan_clip(rec.index, "cam", T0, T0 + 8 * S, include_open=False)
    assert [s.complete for s in exported.segments] == [True] and exported.gaps == ((T0 + 4 * S, T0 + 8 * S),)
    with pytest.raises(NotFoundError):
        plan_clip(rec.index, "cam", T0 + 20 * S, T0 + 30 * S)


def _h265_units(tmp_path_factory: pytest.TempPathFactory, size: str) -> Units:
    clip = tmp_path_factory.mktemp("hevc") / "c.h265"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=15",
                    "-frames:v", "60", "-c:v", "libx265",
                    "-x265-params", "keyint=15:min-keyint=15:bframes=0:log-level=0",
                    "-f", "hevc", str(clip)], check=True)
    with av.open(str(clip), format="hevc") as container:
        return [(bytes(p), p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size]


@pytest.fixture(scope="session")
def h265_units(tmp_path_factory: pytest.TempPathFactory) -> Units:
    """4 s of 320x240 15 fps H.265, a 1 s GOP, VPS/SPS/PPS before the first IDR."""
    return _h265_units(tmp_path_factory, "320x240")


@pytest.fixture(scope="session")
def h265_units_360p(tmp_path_factory: pytest.TempPathFactory) -> Units:
    return _h265_units(tmp_path_factory, "640x360")


def test_h265_clip_keeps_hvc1(tmp_path: Path, h265_units: Units) -> None:
    rec = Recordings(tmp_path)
    for n in range(3):
        rec.add(T0 + n * 4 * S, h265_units, Codec.H265)
    plan = plan_clip(rec.index, "cam", T0 + S, T0 + 11 * S)
    clip = write_clip(plan, tmp_path / "clip.mp4")
    info = probe(clip)
    assert (info["codec_name"], info["codec_tag_string"]) == ("hevc", "hvc1") and plan.codec_tag == "hvc1"
    assert int(info["nb_read_frames"]) == plan.frame_count == 10 * 15
    assert decode_errors(clip) == ""


def test_clip_starting_inside_the_segment_being_written(tmp_path: Path, h264_units: Units) -> None:
    """Issue 12, #11: a range starting inside the open segment is its complete fragments (it was
    404 "nothing recorded": the index query dropped open segments that started before `start`)."""
    rec = Recordings(tmp_path)
    rec.add(T0, h264_units)
    path = rec.add(T0 + 4 * S, h264_units, complete=False)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) * 3 // 4])  # the writer is mid-fragment: 2 s complete, at least
    plan = plan_clip(rec.index, "cam", T0 + int(5.5 * S), T0 + 9 * S)  # ends in the future
    assert [s.complete for s in plan.segments] == [False] and plan.first_frame_wall_ns == T0 + 5 * S
    written = plan.segments[0].frames_used
    assert plan.frame_count == written and 15 <= written < 45 and plan.end_wall_ns == T0 + 5 * S + written * S // 15
    clip = write_clip(plan, tmp_path / "clip.mp4")
    info = probe(clip)
    assert int(info["nb_read_frames"]) == written and abs(float(info["duration"]) - written / 15) < 0.01
    assert decode_errors(clip) == ""
    with pytest.raises(NotReadyError) as not_yet:  # after the last complete fragment: being written, not missing
        plan_clip(rec.index, "cam", plan.end_wall_ns + S // 2, T0 + 9 * S)
    assert not_yet.value.retry_after_s > 0 and "recording this range right now" in str(not_yet.value)
    path.write_bytes(b"")  # just created: nothing complete in it yet
    with pytest.raises(NotReadyError):
        plan_clip(rec.index, "cam", T0 + int(4.5 * S), T0 + 9 * S)
    with pytest.raises(NotFoundError, match="nothing recorded"):  # long after it: nothing there
        plan_clip(rec.index, "cam", T0 + 60 * S, T0 + 70 * S)


def test_open_segment_without_a_complete_fragment_adds_nothing(tmp_path: Path, h264_units: Units) -> None:
    rec = Recordings(tmp_path)
    rec.add(T0, h264_units)
    path = rec.add(T0 + 4 * S, h264_units, complete=False)
    path.write_bytes(b"")  # the recorder has just created it
    plan = plan_clip(rec.index, "cam", T0, T0 + 8 * S)
    assert [s.complete for s in plan.segments] == [True] and plan.frame_count == len(h264_units)


def test_damaged_segment_file_is_a_clear_error(tmp_path: Path, h264_units: Units) -> None:
    rec = Recordings(tmp_path)
    rec.add(T0, h264_units)
    path = rec.add(T0 + 4 * S, h264_units)
    data = bytearray(path.read_bytes())
    data[4:8] = b"junk"  # the ftyp is gone
    path.write_bytes(bytes(data))
    with pytest.raises(ClipSourceError, match=r"segment \d+ .*ftyp"):
        plan_clip(rec.index, "cam", T0 + S, T0 + 6 * S)  # reading it whole (it straddles the end)
    path.unlink()
    with pytest.raises(ClipSourceError, match="No such file"):
        plan_clip(rec.index, "cam", T0 + S, T0 + 6 * S)
    assert plan_clip(rec.index, "cam", T0, T0 + 3 * S).frame_count == 45  # the good one still serves


@pytest.mark.parametrize("data", [
    b"\x00\x00\x00\x10moof\x00\x00",  # overruns its parent
    b"\x00\x00\x00\x01mdat\x00\x00",  # 64-bit size cut off
    b"\x00\x00\x00\x08free\x00\x00\x00",  # a box header cut off after a whole box
    b"\x00\x00\x00\x04moof",  # smaller than its own header
])
def test_malformed_boxes_are_clip_source_errors(data: bytes) -> None:
    with pytest.raises(ClipSourceError, match="truncated or overruns"):
        boxes(data)
    assert [b.kind for b in boxes(b"\x00\x00\x00\x08free\x00\x00\x00\x09skip\x00")] == [b"free", b"skip"]


def test_h265_segments_whose_hvcc_repeat_the_sets_differently_make_one_clip(
        tmp_path: Path, h265_units: Units, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12, #12: recordings made before the writer kept each parameter set once have the
    run's first segment with each VPS/SPS/PPS three times in its hvcC (the camera's first IDR
    carried them twice, plus the extradata), later ones twice. Same parameter sets, so no codec
    change: the clip runs through every segment."""
    def before_the_fix(codec: Codec, extradata: bytes, keyframe: bytes) -> bytes:
        return extradata + keyframe  # what SegmentWriter fed FFmpeg's raw demuxer

    monkeypatch.setattr(writer, "template_access_unit", before_the_fix)
    sets = parameter_sets(Codec.H265, h265_units[0][0])
    assert sum(1 for _ in iter_nal_units(sets)) == 3  # VPS, SPS, PPS
    first = [(sets + h265_units[0][0], True), *h265_units[1:]]  # the sets twice in the first access unit
    rec = Recordings(tmp_path)
    rec.add(T0, first, Codec.H265)
    for n in range(1, 4):
        rec.add(T0 + 4 * n * S, h265_units, Codec.H265)
    files = [read_segment_file(segment_path(rec.index, r)) for r in rec.index.segments("cam")]
    assert [hvcc_copies(f.moov) for f in files[:2]] == [{32: 3, 33: 3, 34: 3}, {32: 2, 33: 2, 34: 2}]
    assert files[0].moov != files[1].moov == files[2].moov  # the sample entries' bytes differ …
    assert len({f.init.codec_key for f in files}) == 1  # … what decodes does not
    plan = plan_clip(rec.index, "cam", T0 + S // 2, T0 + 16 * S)
    assert plan.stopped_at_wall_ns is None and len(plan.segments) == 4
    clip = write_clip(plan, tmp_path / "clip.mp4")
    info = probe(clip)
    assert (info["codec_name"], info["codec_tag_string"]) == ("hevc", "hvc1")
    assert int(info["nb_read_frames"]) == plan.frame_count == 4 * 60
    assert abs(float(info["duration"]) - 16.0) < 0.01
    assert decode_errors(clip) == ""


def test_the_writer_keeps_each_parameter_set_once(tmp_path: Path, h265_units: Units) -> None:
    """Whatever the keyframe repeats, a segment's hvcC holds each set once: the first segment of a
    run and the later ones have the same sample entry."""
    sets = parameter_sets(Codec.H265, h265_units[0][0])
    rec = Recordings(tmp_path)
    rec.add(T0, [(sets + sets + h265_units[0][0], True), *h265_units[1:]], Codec.H265)
    rec.add(T0 + 4 * S, h265_units, Codec.H265)
    files = [read_segment_file(segment_path(rec.index, r)) for r in rec.index.segments("cam")]
    assert [hvcc_copies(f.moov) for f in files] == [{32: 1, 33: 1, 34: 1}] * 2
    assert files[0].moov == files[1].moov
    clip = write_clip(plan_clip(rec.index, "cam", T0, T0 + 8 * S), tmp_path / "clip.mp4")
    assert int(probe(clip)["nb_read_frames"]) == 120 and decode_errors(clip) == ""


def test_h265_clip_stops_where_the_parameter_sets_really_change(tmp_path: Path, h265_units: Units,
                                                                h265_units_360p: Units) -> None:
    rec = Recordings(tmp_path)
    rec.add(T0, h265_units, Codec.H265)
    rec.add(T0 + 4 * S, h265_units_360p, Codec.H265)
    plan = plan_clip(rec.index, "cam", T0, T0 + 8 * S)
    assert plan.stopped_at_wall_ns == T0 + 4 * S and plan.frame_count == 60
