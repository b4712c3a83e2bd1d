"""core/audio_interleave.py: which audio frames go into which segment, and the two-track
fragments the readers then meet (core/mp4_boxes.py, clips/boxes.py), on values built by hand."""

from __future__ import annotations

import struct

from tests.unit.core.test_mp4_boxes import box, full, moof
from vigil.clips.boxes import rewrite_moof, shift_moof
from vigil.core.audio_interleave import AudioInterleave, frame_duration_90k
from vigil.core.media import AudioCodec, AudioInfo, AudioPacket
from vigil.core.mp4_boxes import boxes, parse_moof, u32

AAC_48K = AudioInfo(AudioCodec.AAC, 48_000, 1, b"\x11\x88")


def packet(pts_90k: int, duration_90k: int = 0) -> AudioPacket:
    return AudioPacket(str(pts_90k).encode(), pts_90k, duration_90k, 0)


def test_frames_go_to_the_segment_they_fall_in_and_none_before_its_start() -> None:
    audio = AudioInterleave()
    audio.started(AAC_48K)
    for pts in (-1920, 0, 1920, 3840, 90_000, 91_920):
        audio.add(packet(pts))
    # The segment [0, 90000): the frame before it is dropped, those at or after its end wait.
    first = audio.due(0, 90_000)
    assert [s.pts_90k for s in first] == [0, 1920, 3840] and audio.dropped == 1
    assert all(s.duration_90k == 1920 for s in first)  # 1024 samples at 48 kHz
    second = audio.due(90_000, 180_000)
    assert [s.pts_90k for s in second] == [0, 1920] and len(audio) == 0  # relative to its own start


def test_late_frames_and_frames_without_a_session_are_dropped_and_the_wait_is_bounded() -> None:
    audio = AudioInterleave(max_frames=3)
    audio.add(packet(0))  # no AudioStarted yet
    assert len(audio) == 0 and audio.dropped == 1
    audio.started(AAC_48K)
    for pts in range(0, 5 * 1920, 1920):
        audio.add(packet(pts))
    assert len(audio) == 3 and audio.dropped == 3  # the two oldest made room
    # The segment starting at 5760 takes 5760 and 7680; 3840 came before it.
    assert [s.pts_90k for s in audio.due(5760, 10**9)] == [0, 1920] and audio.dropped == 4
    audio.add(packet(100))
    assert audio.due(5760, 10**9) == [] and audio.dropped == 5  # its segment was closed: late
    audio.add(packet(6000))
    audio.ended()
    assert len(audio) == 0 and audio.info is None


def test_frame_durations() -> None:
    assert frame_duration_90k(AAC_48K, 1234) == 1234
    assert frame_duration_90k(AudioInfo(AudioCodec.AAC, 16_000, 1, b""), 0) == 5760
    assert frame_duration_90k(AudioInfo(AudioCodec.OPUS, 48_000, 2, b""), 0) == 1800


def two_tracks(video: bytes, audio_track: int = 2, audio_start: int = 48_000) -> bytes:
    """moof(...) of the video with an audio run (track `audio_track`, 3 frames) after its traf."""
    audio = moof([1024] * 3, [7, 8, 9], [True] * 3, audio_start, default_flags=None)
    audio_traf = bytearray(audio[24:])  # after the moof and mfhd headers
    struct.pack_into(">I", audio_traf, 20, audio_track)  # traf, tfhd headers, version+flags: the track ID
    return box(b"moof", video[8:] + bytes(audio_traf))


def test_a_fragment_with_an_audio_run_is_read_for_its_video() -> None:
    data = two_tracks(moof([3000, 3000], [10, 20], [True, False], decode_start=90_000))
    info = parse_moof(data)
    assert info.sample_sizes == (10, 20) and info.decode_start_90k == 90_000 and info.sync_sample_count == 1
    assert [(o.track_id, o.decode_start, o.data_bytes) for o in info.others] == [(2, 48_000, 24)]
    assert info.all_data_bytes == 54
    alone = box(b"moof", full(b"mfhd", 0, 0, struct.pack(">I", 3)) + data[24 + u32(data, 24):])
    assert u32(alone, 0) == len(alone)
    audio_only = parse_moof(alone)  # the muxer flushed audio alone: no video samples in it
    assert audio_only.sample_sizes == () and audio_only.all_data_bytes == 24 and not audio_only.starts_with_sync


def test_a_clip_moves_the_audio_in_its_timescale_and_a_cut_drops_its_run() -> None:
    built = bytearray(two_tracks(moof([3000, 3000, 3000], [10, 20, 30], [True, False, False], decode_start=90_000)))
    struct.pack_into(">i", built, parse_moof(bytes(built)).data_offset_at, len(built) + 8)  # as the muxer writes it
    data = bytes(built)
    info = parse_moof(data)
    moved = parse_moof(rewrite_moof(data, info, 5, 180_000, timescales={2: 48_000}))
    assert moved.decode_start_90k == 180_000 and moved.others[0].decode_start == 48_000 + 48_000  # 1 s later
    shifted = parse_moof(shift_moof(data, 1, 90_000, ((2, 48_000),)))
    assert shifted.decode_start_90k == 180_000 and shifted.others[0].decode_start == 96_000
    cut = rewrite_moof(data, info, 5, 0, keep_samples=2, timescales={2: 48_000})
    kept = parse_moof(cut)
    assert kept.sample_sizes == (10, 20) and kept.others == ()
    assert u32(cut, 0) == len(cut) and [b.kind for b in boxes(cut)] == [b"moof"]
    assert kept.data_offset == len(cut) + 8  # the video's samples right after the mdat header
