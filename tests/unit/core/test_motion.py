"""Motion scoring and intervals on synthetic frames: noise, lighting, small movers, masks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vigil.core.motion import GRID, MotionParams, MotionSample, MotionScorer
from vigil.core.motion_intervals import IntervalTracker, SampleSpacing, bitmask_cells, hold_ns, region_bitmask

H, W = 90, 160
SEC = 1_000_000_000
rng = np.random.default_rng(7)
YY, XX = np.mgrid[0:H, 0:W]
BACKGROUND = (60 + 80 * XX / W + 40 * np.sin(YY / 9.0) + 20 * ((XX // 20 + YY // 15) % 2)).astype(np.float32)


def frame(t: float, *, gain: float = 1.0, offset: float = 0.0, square: tuple[float, float] | None = None,
          ) -> npt.NDArray[np.uint8]:
    img = BACKGROUND * gain + offset + rng.normal(0, 3.0, BACKGROUND.shape)
    if square is not None:
        x, y = int(square[0] * W), int(square[1] * H)
        img[y : y + 7, x : x + 7] = 20  # a small dark object: ~0.3 % of the picture
    out: npt.NDArray[np.uint8] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def run(frames: list[npt.NDArray[np.uint8]], params: MotionParams | None = None) -> list[bool]:
    scorer = MotionScorer(params or MotionParams())
    return [scorer.score(f, i * SEC // 5).moving for i, f in enumerate(frames)]


def test_sensor_noise_is_not_motion() -> None:
    assert not any(run([frame(i / 5) for i in range(50)]))


def test_global_lighting_changes_are_not_motion() -> None:
    frames = [frame(i / 5) for i in range(10)]
    frames += [frame(i / 5, gain=1.4, offset=10) for i in range(10, 20)]  # lights on
    frames += [frame(i / 5, gain=0.6) for i in range(20, 30)]  # auto-exposure
    assert not any(run(frames))


def test_small_object_crossing_is_motion_in_the_right_cells() -> None:
    scorer = MotionScorer(MotionParams())
    for i in range(10):
        scorer.score(frame(i / 5), i * SEC // 5)
    samples = [scorer.score(frame(i / 5, square=(0.1 + 0.05 * (i - 10), 0.7)), i * SEC // 5) for i in range(10, 25)]
    assert sum(s.moving for s in samples) >= 13
    rows = {int(r) for s in samples for r in np.nonzero(s.heatmap > 0.08)[0]}
    assert rows and all(r in (10, 11, 12, 13) for r in rows), rows  # y = 0.7 of the picture


def test_masked_region_is_ignored() -> None:
    mask = tuple((r, c) for r in range(GRID // 4) for c in range(GRID // 4))
    frames = [frame(i / 5) for i in range(10)]
    frames += [frame(i / 5, square=(0.02 + 0.015 * (i - 10), 0.05)) for i in range(10, 20)]
    assert any(run(frames))
    assert not any(run(frames, MotionParams(mask=mask)))


def test_scene_change_resets_instead_of_reporting_motion() -> None:
    scorer = MotionScorer(MotionParams())
    for i in range(5):
        scorer.score(frame(i / 5), i * SEC // 5)
    flipped = (255 - frame(1.0)).astype(np.uint8)  # IR switch with inverted contrast, say
    sample = scorer.score(flipped, SEC)
    assert sample.scene_change and not sample.moving
    assert not scorer.score((255 - frame(1.2)).astype(np.uint8), 2 * SEC).moving


def test_intervals_with_hysteresis_and_regions() -> None:
    scorer, tracker = MotionScorer(MotionParams()), IntervalTracker(MotionParams().cell_threshold)
    closed = []
    for i in range(100):  # 20 s at 5 samples/s: movement 4-8 s and 12-13 s
        t = i / 5
        square = (0.1 + 0.08 * (t - 4), 0.5) if 4 <= t < 8 else (0.5, 0.2 + 0.1 * (t - 12)) if 12 <= t < 13 else None
        interval = tracker.feed(scorer.score(frame(t, square=square), i * SEC // 5))
        if interval is not None:
            closed.append(interval)
    last = tracker.flush()
    closed += [last] if last else []
    spans = [(i.start_wall_ns / SEC, i.end_wall_ns / SEC) for i in closed]
    assert len(spans) == 2, spans
    assert abs(spans[0][0] - 4) <= 0.4 and abs(spans[0][1] - 8) <= 0.6
    assert abs(spans[1][0] - 12) <= 0.4 and abs(spans[1][1] - 13) <= 0.6
    lower_half = region_bitmask(0, 0.5, 1, 1)
    assert closed[0].cells & lower_half and not closed[1].cells & region_bitmask(0, 0.6, 1, 1)
    assert all(0 <= r < GRID and 0 <= c < GRID for r, c in bitmask_cells(closed[0].cells))


def sample(wall_ns: int, score: float) -> MotionSample:
    heat = np.zeros((GRID, GRID), dtype=np.float32)
    heat[8, 8] = score
    return MotionSample(wall_ns, score, heat, score > MotionParams().cell_threshold, False)


def intervals(tracker: IntervalTracker, samples: list[MotionSample]) -> list[tuple[float, float]]:
    closed = [tracker.feed(s) for s in samples] + [tracker.flush()]
    return [(i.start_wall_ns / SEC, i.end_wall_ns / SEC) for i in closed if i is not None]


def test_hold_follows_the_sample_spacing() -> None:
    assert hold_ns(SEC, None) == SEC  # nothing measured yet
    assert hold_ns(SEC, SEC // 5) == SEC  # substream: 5 samples a second, the 1 s minimum holds
    assert hold_ns(SEC, SEC) == 3 * SEC // 2  # 1 s keyframes
    assert hold_ns(SEC, 2 * SEC) == 3 * SEC  # 2 s keyframes
    spacing = SampleSpacing()
    for t in (0, 2, 4, 6, 16, 18):  # one long gap (the worker skipped packets) does not count
        spacing.add(t * SEC)
    assert spacing.spacing_ns == 2 * SEC
    spacing.restart()
    spacing.add(100 * SEC)  # the next session: its gap to the last session is no spacing
    assert spacing.spacing_ns == 2 * SEC


def test_one_movement_sampled_every_2_s_is_one_interval() -> None:
    """Keyframes 2 s apart, movement seen by every sample from 4 s to 12 s: one interval, not
    back-to-back pieces closed 1 s after each sample."""
    tracker = IntervalTracker(MotionParams().cell_threshold)
    samples = [sample(t * SEC, 0.5 if 4 <= t <= 12 else 0.0) for t in range(0, 22, 2)]
    assert intervals(tracker, samples) == [(4.0, 14.0)]
    assert tracker.hold_ns == 3 * SEC


def test_a_quiet_sample_still_ends_an_interval() -> None:
    """The hold is not stretched beyond the next sample: with 2 s keyframes, one sample that saw
    nothing separates two movements; with 5 samples a second, 1 s of quiet does."""
    tracker = IntervalTracker(MotionParams().cell_threshold)
    scores = {4: 0.5, 6: 0.5, 10: 0.5, 12: 0.5}  # 8 s saw nothing
    assert intervals(tracker, [sample(t * SEC, scores.get(t, 0.0)) for t in range(0, 20, 2)]) == [
        (4.0, 8.0), (10.0, 14.0)]
    tracker = IntervalTracker(MotionParams().cell_threshold)
    moving = [sample(i * SEC // 5, 0.5 if 10 <= i < 20 or 26 <= i < 30 else 0.0) for i in range(50)]
    assert intervals(tracker, moving) == [(2.0, 4.0), (5.2, 6.0)]
