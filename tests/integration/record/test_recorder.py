"""The recorder thread fed through a real fan-out: rotation, parameter changes, SDP-only
parameter sets, overflow gaps."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from tests.support.tone import peak_hz
from vigil.core.camera_modes import Stream
from vigil.core.h26x import iter_nal_units, nal_type, parameter_sets
from vigil.core.media import (
    AudioCodec,
    AudioInfo,
    AudioPacket,
    AudioStarted,
    Codec,
    DownReason,
    EncodedPacket,
    SessionEnded,
    SessionStarted,
    StreamInfo,
)
from vigil.core.rotation import RotationPolicy
from vigil.ingest.fanout import Fanout
from vigil.record import recorder as recorder_module
from vigil.record.recorded_audio import RecordedAudio
from vigil.record.recorder import Recorder
from vigil.record.storage import open_storage_dir
from vigil.record.writer import hash_file
from vigil.sim.camera_server import TONE_HZ
from vigil.store.index import Index

Units = list[tuple[bytes, bool]]
WALL0 = 1_800_000_000 * 10**9


def strip_parameter_sets(au: bytes) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + n for n in iter_nal_units(au) if nal_type(Codec.H264, n) not in (7, 8))


def frames(path: Path) -> tuple[int, int, int]:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                          "stream=width,height,nb_read_frames", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout.strip()
    w, h, n = out.split(",")
    return int(w), int(h), int(n)


class Harness:
    def __init__(self, tmp: Path, segment_s: float = 2.0, max_packets: int = 1000) -> None:
        self.index = Index.open(tmp / "index.sqlite3", WALL0)
        with self.index.transaction() as c:
            self.storage = open_storage_dir(c, tmp / "rec", require_mount=False)
        self.fanout = Fanout()
        sub = self.fanout.subscribe("rec", max_packets=max_packets)
        self.recorder = Recorder("cam", Stream.MAIN, sub, self.index, self.storage,
                                 RotationPolicy(target_90k=int(segment_s * 90_000)), lambda: WALL0)
        self.thread = threading.Thread(target=self.recorder.run)
        self.n = 0

    def feed(self, units: Units, transform: object = None) -> None:
        for data, key in units:
            if callable(transform):
                data = transform(data)
            dts = self.n * 6000
            self.fanout.publish(EncodedPacket(data, dts, dts, key, WALL0 + dts * 100_000 // 9))
            self.n += 1

    def start(self) -> Harness:
        self.thread.start()
        return self

    def drained(self) -> None:
        deadline = time.monotonic() + 5
        while len(self.recorder.sub) and time.monotonic() < deadline:
            time.sleep(0.01)

    def finish(self) -> None:
        self.fanout.publish(SessionEnded(DownReason.ENDED, WALL0))
        self.fanout.close()
        self.thread.join(10)
        assert self.recorder.finished.is_set()


def test_resolution_change_cuts_a_segment_with_new_parameters(
    tmp_path: Path, h264_units: Units, h264_units_360p: Units
) -> None:
    h = Harness(tmp_path, segment_s=60).start()
    h.fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), WALL0))
    h.feed(h264_units)
    h.feed(h264_units_360p)
    h.finish()
    segs = h.index.segments("cam")
    assert [(s.width, s.height, s.cut_reason) for s in segs] == [(320, 240, "parameters_changed"),
                                                                  (640, 360, "ended")]
    assert segs[0].end_wall_ns == segs[1].start_wall_ns and len({s.run_id for s in segs}) == 1
    for seg, units in zip(segs, (h264_units, h264_units_360p), strict=True):
        assert frames(h.storage.path / seg.path) == (seg.width, seg.height, len(units)) == (
            seg.width, seg.height, seg.frame_count)


def test_parameter_sets_only_in_the_sdp_still_make_playable_files(tmp_path: Path, h264_units: Units) -> None:
    h = Harness(tmp_path).start()
    sdp = parameter_sets(Codec.H264, h264_units[0][0])
    h.fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, sdp), WALL0))
    h.feed(h264_units, strip_parameter_sets)
    h.finish()
    segs = h.index.segments("cam")
    assert len(segs) == 2  # the first target is staggered to between 1 and 2 s, then 2 s
    assert sum(s.frame_count or 0 for s in segs) == len(h264_units)
    for seg in segs:
        assert frames(h.storage.path / seg.path) == (320, 240, seg.frame_count)


def test_a_recorder_is_recording_through_a_rotation(tmp_path: Path, h264_units: Units,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Health counts recording cameras from another thread: the moment between closing a segment
    (hashing it) and opening the next is no stop (the soak saw 14 of 16 "recording" once)."""
    h = Harness(tmp_path)
    seen: list[bool] = []

    def hash_watched(path: Path) -> tuple[int, str]:
        seen.append(h.recorder.recording)
        return hash_file(path)

    monkeypatch.setattr(recorder_module, "hash_file", hash_watched)
    h.start()
    h.fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), WALL0))
    h.feed(h264_units)
    h.finish()
    assert len(h.index.segments("cam")) >= 2 and not h.recorder.recording
    assert len(seen) >= 2 and all(seen), seen  # each close, the rotation's too, came while the run went on


def test_overflow_ends_the_run_and_records_a_gap(tmp_path: Path, h264_units: Units) -> None:
    h = Harness(tmp_path, segment_s=60, max_packets=20)
    h.fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), WALL0))
    h.feed(h264_units)  # the recorder is not reading yet: 20 packets queue, 40 are dropped
    h.start()
    for gop in range(0, len(h264_units), 15):  # room again: the fan-out resyncs on the next keyframe
        h.drained()
        h.feed(h264_units[gop : gop + 15])
    h.finish()
    segs = h.index.segments("cam")
    assert len({s.run_id for s in segs}) == 2
    assert [s.cut_reason for s in segs] == ["overflow", "ended"]
    assert [s.frame_count for s in segs] == [20, len(h264_units)]
    gaps = h.index.events("cam", "gap")
    assert len(gaps) == 1 and gaps[0].reason == "overflow" and gaps[0].detail == "40 packets dropped"


def test_unwritable_keyframe_is_reported_and_recording_resumes(tmp_path: Path, h264_units: Units) -> None:
    h = Harness(tmp_path, segment_s=60).start()
    h.fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), WALL0))
    sps = parameter_sets(Codec.H264, h264_units[0][0])
    garbage_keyframe = sps[:8] + b"\xff" * 40 + b"\x00\x00\x00\x01\x65" + b"\x00" * 8  # an SPS cut short
    h.feed([(garbage_keyframe, True)])
    h.feed(h264_units)
    h.finish()
    errors = h.index.events("cam", "record_error")
    assert len(errors) == 1 and errors[0].reason == "error"
    segs = h.index.segments("cam")
    assert len(segs) == 1 and segs[0].frame_count == len(h264_units)
    assert frames(h.storage.path / segs[0].path) == (320, 240, len(h264_units))


def _keyframes_after_the_first(transform: object) -> object:
    """A transform applying `transform` to every keyframe but the stream's first."""
    seen = []

    def apply(au: bytes) -> bytes:
        if any(nal_type(Codec.H264, n) == 5 for n in iter_nal_units(au)):
            seen.append(au)
            if len(seen) > 1 and callable(transform):
                return bytes(transform(au))
        return au

    return apply


def test_parameter_sets_compared_by_what_decodes(tmp_path: Path, h264_units: Units) -> None:
    """The same class as issue 12 #12, in the recorder: a keyframe whose in-band parameter sets
    come in another order, or only in part (the PPS alone), changes nothing: no parameters_changed
    cut, and never a segment whose sample entry lacks the SPS."""
    def pps_first(au: bytes) -> bytes:
        nals = list(iter_nal_units(au))
        return b"".join(b"\x00\x00\x00\x01" + n for n in sorted(nals, key=lambda n: nal_type(Codec.H264, n) != 8))

    def pps_only(au: bytes) -> bytes:
        return b"".join(b"\x00\x00\x00\x01" + n for n in iter_nal_units(au) if nal_type(Codec.H264, n) != 7)

    for name, transform in (("reordered", pps_first), ("pps-only", pps_only)):
        h = Harness(tmp_path / name, segment_s=60).start()
        h.fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), WALL0))
        h.feed(h264_units + h264_units, _keyframes_after_the_first(transform))
        h.finish()
        segs = h.index.segments("cam")
        assert [s.cut_reason for s in segs] == ["ended"], (name, segs)
        assert h.index.events("cam", "record_error") == [], name
        assert frames(h.storage.path / segs[0].path) == (320, 240, 2 * len(h264_units)), name


class AudioHarness(Harness):
    """The harness with record_audio: the recorder also reads an audio fan-out."""

    def __init__(self, tmp: Path, segment_s: float = 2.0) -> None:
        super().__init__(tmp, segment_s)
        self.audio_fanout = Fanout()
        self.recorder.audio = RecordedAudio(self.recorder.name, self.audio_fanout.subscribe("rec-audio", 1000))


def audio_packets(path: Path) -> list[float]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries", "packet=pts_time",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout.split()
    return [float(t) for t in out]


def test_audio_goes_into_the_segment_it_falls_in_and_none_before_the_first_picture(
    tmp_path: Path, h264_units: Units
) -> None:
    h = AudioHarness(tmp_path)
    h.start()
    h.fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), WALL0))
    h.audio_fanout.publish(AudioStarted(AudioInfo(AudioCodec.AAC, 16_000, 1, bytes.fromhex("1408")), WALL0))
    frame_90k = 5760  # 1024 samples at 16 kHz
    pts = [-3 * frame_90k + n * frame_90k for n in range(len(h264_units) * 6000 // frame_90k + 3)]
    for p in pts:  # the camera's audio starts before its first keyframe (dts 0)
        h.audio_fanout.publish(AudioPacket(b"\x21\x00" + bytes(20), p, frame_90k, WALL0))
    h.feed(h264_units)
    h.finish()
    segs = h.index.segments("cam")
    assert len(segs) >= 2
    written: list[int] = []
    firsts: list[int] = []
    for seg in segs:
        times = audio_packets(h.storage.path / seg.path)
        assert times and times[0] == 0, (seg.path, times[:3])  # the muxer starts every track at 0
        assert times[-1] < (seg.media_duration_90k or 0) / 90_000, seg.path  # cut with the video
        firsts.append(len(written))
        written += [round(seg.media_start_90k + t * 90_000) for t in times]
    expected = [p for p in pts if 0 <= p < len(h264_units) * 6000]
    assert len(written) == len(expected)  # each frame once, in the segment it falls in, none lost
    for n, (got, want) in enumerate(zip(written, expected, strict=True)):
        # A segment's first frame sits at its start, at most one frame early; every other one exactly.
        assert got == want if n not in firsts else 0 <= want - got < frame_90k, (n, got, want)


def test_g711_audio_is_recorded_as_aac_at_its_place_on_the_media_clock(tmp_path: Path, h264_units: Units) -> None:
    h = AudioHarness(tmp_path)
    h.start()
    h.fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), WALL0))
    h.audio_fanout.publish(AudioStarted(AudioInfo(AudioCodec.PCMU, 8000, 1, b""), WALL0))
    tone = tone_mulaw(8000, len(h264_units) * 6000 // 90_000 * 8000)
    for n in range(0, len(tone), 160):  # 20 ms packets, as cameras send them
        h.audio_fanout.publish(AudioPacket(tone[n:n + 160], n * 90_000 // 8000, 1800, WALL0))
    h.feed(h264_units)
    h.finish()
    segs = h.index.segments("cam")
    assert segs and sum(s.frame_count or 0 for s in segs) == len(h264_units)
    for seg in segs:
        path = h.storage.path / seg.path
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                                "stream=codec_name,sample_rate,duration", "-of", "csv=p=0", str(path)],
                               capture_output=True, text=True, check=True).stdout.strip()
        codec, rate, duration = probe.split(",")
        assert (codec, rate) == ("aac", "8000"), probe
        assert abs(float(duration) - (seg.media_duration_90k or 0) / 90_000) < 0.5, (seg.path, probe)
        assert abs(peak_hz(decoded_audio(path), 8000) - TONE_HZ) < TONE_HZ * 0.02  # the camera's tone, not noise


def tone_mulaw(rate: int, samples: int) -> bytes:
    """A 440 Hz tone as G.711 mu-law, encoded by FFmpeg."""
    encoder = av.CodecContext.create("pcm_mulaw", "w")
    encoder.sample_rate, encoder.layout, encoder.format = rate, "mono", "s16"
    encoder.open()
    t = np.arange(samples) / rate
    frame = av.AudioFrame.from_ndarray((np.sin(2 * np.pi * TONE_HZ * t) * 8000).astype(np.int16)[None, :],
                                       format="s16", layout="mono")
    frame.sample_rate = rate
    return b"".join(bytes(p) for p in encoder.encode(frame))


def decoded_audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])


def test_a_run_s_first_segment_has_the_audio_track_the_session_announced(tmp_path: Path, h264_units: Units) -> None:
    """The camera's first audio frame comes after its first picture (the segment is already open):
    the track was chosen from the session's SDP (what ingest announced), so the sound still goes in."""
    info = AudioInfo(AudioCodec.AAC, 16_000, 1, bytes.fromhex("1408"))
    h = AudioHarness(tmp_path, segment_s=60)
    h.recorder.audio_expected = lambda: info
    h.start()
    h.fanout.publish(SessionStarted(StreamInfo(Codec.H264, 320, 240, b""), WALL0))
    h.feed(h264_units[:15])
    h.drained()
    deadline = time.monotonic() + 5
    while h.recorder.open_segment_id is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert h.recorder.open_segment_id is not None  # opened before any audio arrived
    h.audio_fanout.publish(AudioStarted(info, WALL0))
    for n in range(20):
        h.audio_fanout.publish(AudioPacket(b"\x21\x00" + bytes(20), 15 * 6000 + n * 5760, 5760, WALL0))
    time.sleep(0.5)  # the recorder takes the audio on its next wake-up, before the next pictures
    h.feed(h264_units[15:])
    h.finish()
    segs = h.index.segments("cam")
    assert len(segs) == 1
    assert len(audio_packets(h.storage.path / segs[0].path)) == 20
