"""Camera transport and motion mode: enum members from the TOML, checked where it is read, with
the messages installers already know; and the pure enums themselves (core.camera_modes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.config import parse_config
from vigil.config.reader import Reader
from vigil.core.camera_modes import IngestPath, MotionMode, Stream, Transport, parse_choice
from vigil.core.errors import ConfigError

CAMERA = """
[storage]
path = "data"
[[buildings]]
id = "hs"
[[cameras]]
id = "cam"
building = "hs"
url = "rtsp://10.0.0.21/media"
"""


def test_defaults_are_members(tmp_path: Path) -> None:
    camera = parse_config(CAMERA, tmp_path / "v.toml").cameras[0]
    assert camera.transport is Transport.TCP
    assert camera.motion is MotionMode.AUTO
    assert camera.motion_mode is MotionMode.KEYFRAMES  # no substream


@pytest.mark.parametrize(("line", "transport"), [('transport = "udp"', Transport.UDP),
                                                 ('transport = "tcp"', Transport.TCP)])
def test_transport_is_read_as_a_member(tmp_path: Path, line: str, transport: Transport) -> None:
    camera = parse_config(CAMERA + line + "\n", tmp_path / "v.toml").cameras[0]
    assert camera.transport is transport
    assert type(camera.transport) is Transport


@pytest.mark.parametrize(("lines", "motion", "effective"), [
    ('motion = "off"', MotionMode.OFF, MotionMode.OFF),
    ('motion = "keyframes"\nsubstream_url = "rtsp://10.0.0.21/sub"', MotionMode.KEYFRAMES, MotionMode.KEYFRAMES),
    ('motion = "substream"\nsubstream_url = "rtsp://10.0.0.21/sub"', MotionMode.SUBSTREAM, MotionMode.SUBSTREAM),
    ('substream_url = "rtsp://10.0.0.21/sub"', MotionMode.AUTO, MotionMode.SUBSTREAM),
])
def test_motion_is_read_as_a_member(tmp_path: Path, lines: str, motion: MotionMode, effective: MotionMode) -> None:
    camera = parse_config(CAMERA + lines + "\n", tmp_path / "v.toml").cameras[0]
    assert camera.motion is motion
    assert camera.motion_mode is effective


@pytest.mark.parametrize(("line", "message"), [
    ('transport = "TCP"', "cameras[0].transport: must be 'tcp' or 'udp'"),
    ('transport = "http"', "cameras[0].transport: must be 'tcp' or 'udp'"),
    ("transport = 1", "cameras[0].transport: expected a string, got an integer"),
    ('motion = "Auto"', "cameras[0].motion: must be auto, substream, keyframes or off"),
    ('motion = "on"', "cameras[0].motion: must be auto, substream, keyframes or off"),
    ("motion = false", "cameras[0].motion: expected a string, got true/false"),
    ('motion = "substream"', "cameras[0].motion: substream mode needs substream_url"),
])
def test_other_text_is_named(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(CAMERA + line + "\n", tmp_path / "v.toml")
    assert f"v.toml: {message}" in str(caught.value)
    assert str(caught.value).count("\n") == 1  # that problem alone


def test_reader_choice_falls_back_to_the_default_with_the_message(tmp_path: Path) -> None:
    r = Reader(tmp_path / "v.toml")
    assert r.choice({"t": "udp"}, "x", "t", Transport, Transport.TCP, "bad") is Transport.UDP
    assert r.choice({}, "x", "t", Transport, Transport.UDP, "bad") is Transport.UDP
    assert r.problems == []
    assert r.choice({"t": "quic"}, "x", "t", Transport, Transport.TCP, "bad") is Transport.TCP
    assert r.problems == [f"{tmp_path / 'v.toml'}: x.t: bad"]


def test_stream_values_are_the_index_text() -> None:
    # The index's runs and segments tables and the segment paths hold these: they never change.
    assert [s.value for s in Stream] == ["main", "sub"]
    assert f"{Stream.SUB}" == "sub" and str(Stream.MAIN) == "main"


@pytest.mark.parametrize(("text", "member"), [("main", Stream.MAIN), ("sub", Stream.SUB), ("Main", None),
                                              ("", None), ("MAIN", None), (" sub", None)])
def test_parse_choice_takes_exact_values_only(text: str, member: Stream | None) -> None:
    assert parse_choice(Stream, text) is member


def test_auto_resolves_by_substream() -> None:
    assert MotionMode.AUTO.effective(True) is MotionMode.SUBSTREAM
    assert MotionMode.AUTO.effective(False) is MotionMode.KEYFRAMES
    assert MotionMode.OFF.effective(True) is MotionMode.OFF


def test_ingest_defaults_to_native_and_reads_ffmpeg(tmp_path: Path) -> None:
    assert parse_config(CAMERA, tmp_path / "v.toml").cameras[0].ingest is IngestPath.NATIVE
    camera = parse_config(CAMERA + 'ingest = "ffmpeg"\n', tmp_path / "v.toml").cameras[0]
    assert camera.ingest is IngestPath.FFMPEG


def test_an_unknown_ingest_is_told(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ingest.*must be ffmpeg or native"):
        parse_config(CAMERA + 'ingest = "gstreamer"\n', tmp_path / "v.toml")
