"""core/sps.py against streams FFmpeg's encoders make, ffprobe judging size and reorder depth."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.core.media import Codec
from vigil.core.sps import SpsError, find_sps, parse_sps

CASES = {
    "h264-no-b": ("h264", ["-c:v", "libx264", "-bf", "0", "-pix_fmt", "yuv420p"]),
    "h264-b2-pyramid": ("h264", ["-c:v", "libx264", "-bf", "2", "-pix_fmt", "yuv420p"]),
    "h264-b2-flat": ("h264", ["-c:v", "libx264", "-bf", "2", "-x264-params", "b-pyramid=none", "-pix_fmt",
                              "yuv420p"]),
    "h264-baseline": ("h264", ["-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p"]),
    "h264-high422": ("h264", ["-c:v", "libx264", "-bf", "2", "-pix_fmt", "yuv422p"]),
    "h265-b": ("hevc", ["-c:v", "libx265", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p"]),
    "h265-no-b": ("hevc", ["-c:v", "libx265", "-x265-params", "bframes=0:log-level=error", "-pix_fmt", "yuv420p"]),
}


@pytest.mark.parametrize("case", CASES)
def test_size_and_reorder_depth_as_ffprobe_sees_them(tmp_path: Path, case: str) -> None:
    fmt, args = CASES[case]
    path = tmp_path / f"clip.{fmt}"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=322x242:rate=15",
                    "-frames:v", "5", *args, "-f", fmt, str(path)], check=True)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height,has_b_frames",
                            "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True)
    width, height, has_b_frames = map(int, probe.stdout.strip().split(","))
    info = find_sps(Codec.H264 if fmt == "h264" else Codec.H265, path.read_bytes())
    assert info is not None
    assert (info.width, info.height, info.reorder_frames) == (width, height, has_b_frames)


def test_junk_is_refused_and_find_skips_it() -> None:
    with pytest.raises(SpsError):
        parse_sps(Codec.H264, b"\x67\x64")
    assert find_sps(Codec.H264, b"\x00\x00\x00\x01\x67\x64") is None
    assert find_sps(Codec.H265, b"\x00\x00\x00\x01\x42") is None


@given(st.binary(max_size=300), st.sampled_from([Codec.H264, Codec.H265]))
def test_any_bytes_parse_or_raise_sps_error(data: bytes, codec: Codec) -> None:
    try:
        info = parse_sps(codec, data)
    except SpsError:
        return
    assert 0 < info.width <= 16384 and 0 < info.height <= 16384
