"""core/audio_timeline.py: continuous audio unless a real gap or jump."""

from __future__ import annotations

import itertools

from vigil.core.audio_timeline import AudioTimeline

FRAME_90K = 1800  # 20 ms of G.711


def test_the_first_frame_goes_where_the_source_says() -> None:
    assert AudioTimeline().place(12_345, FRAME_90K) == 12_345


def test_a_wobble_of_a_few_ticks_is_absorbed() -> None:
    # FFmpeg's first RTCP sender report moved the audio 12 ticks: the sound goes on without a step
    timeline = AudioTimeline()
    placed = [timeline.place(pts, FRAME_90K) for pts in (0, 1800, 3612, 5412, 7190, 9338, 10_800 + 880)]
    assert placed == [0, 1800, 3600, 5400, 7200, 9000, 10_800]


def test_a_lost_frame_stays_a_gap_and_a_jump_is_followed() -> None:
    timeline = AudioTimeline()
    assert [timeline.place(pts, FRAME_90K) for pts in (0, 1800, 5400, 5400 + 1800)] == [0, 1800, 5400, 7200]
    assert timeline.place(900_000, FRAME_90K) == 900_000


def test_a_drifting_clock_is_followed_in_small_steps() -> None:
    timeline = AudioTimeline()
    placed = [timeline.place(i * 1810, FRAME_90K) for i in range(200)]  # 0.55 % fast
    steps = {b - a for a, b in itertools.pairwise(placed)}
    assert max(steps) - FRAME_90K <= FRAME_90K // 2 + 10
    assert abs(placed[-1] - 199 * 1810) <= FRAME_90K // 2


def test_after_a_frame_without_duration_the_source_is_followed() -> None:
    timeline = AudioTimeline()
    assert [timeline.place(pts, d) for pts, d in ((0, 0), (7, FRAME_90K), (1803, FRAME_90K))] == [0, 7, 1807]
