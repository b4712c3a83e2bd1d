"""Scripted motion scenes: they encode to what the camera simulator replays, and their ground
truth says when an unmasked mover is on screen."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from vigil.sim.scenes import (
    BrightnessStep,
    Mover,
    Scene,
    ground_truth,
    long_scene,
    render_scene,
    scene_frames,
    standard_scene,
)

TOP_LEFT = ((0.0, 0.0, 0.25, 0.25),)


def ffprobe_frames(path: Path) -> tuple[int, str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_frames,profile", "-of", "default=nw=1", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    fields = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return int(fields["nb_read_frames"]), fields["profile"]


@pytest.mark.parametrize("suffix", [".h264", ".mp4"])
def test_rendered_scene_decodes_frame_exact(tmp_path: Path, suffix: str) -> None:
    scene = Scene(4.0, (Mover(1.0, 3.0, y_frac=0.7, size_frac=0.1),), (BrightnessStep(3.5, 1.4, 0.0),))
    path = render_scene(scene, tmp_path / f"scene{suffix}", width=320, height=180, fps=15, gop=15)
    frames, profile = ffprobe_frames(path)
    assert frames == 4 * 15
    assert profile == "Main"
    with av.open(str(path)) as container:
        decoded = [(f.key_frame, f.to_ndarray(format="gray")) for f in container.decode(video=0)]
    assert [i for i, (key, _) in enumerate(decoded) if key] == [0, 15, 30, 45]  # fixed 1 s GOP
    # At t = 2 s the square (18 px, dark) is centred at x = 0.5, y = 0.7: darker than when it is gone.
    with_mover, without = decoded[30][1].astype(float), decoded[50][1].astype(float) / 1.4
    assert with_mover[126, 160] < 60 < without[126, 160]
    assert decoded[0][1].std() > 10  # a textured background, not a flat picture
    # The brightness step: same picture, ~1.4x brighter.
    assert 1.3 < decoded[58][1].mean() / decoded[45][1].mean() < 1.5


def test_frames_are_deterministic_and_noisy() -> None:
    scene = Scene(1.0, (Mover(0.0, 1.0, 0.5, 0.1),))
    a = [f.copy() for f in scene_frames(scene, 160, 90, 15)]
    b = [f.copy() for f in scene_frames(scene, 160, 90, 15)]
    assert len(a) == 15 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    still = Scene(1.0, ())
    f0, f1 = (f.astype(float) for f in itertools.islice(scene_frames(still, 160, 90, 15), 2))
    assert 2.0 < (f1 - f0).std() / np.sqrt(2) < 4.0  # per-frame sensor noise, sigma 3


def test_ground_truth_of_the_standard_scene_masks_the_top_left_mover() -> None:
    scene = standard_scene()
    assert scene.seconds == 32.0
    assert ground_truth(scene) == [(5.0, 12.0), (14.5, 16.5), (25.0, 28.0)]
    assert ground_truth(scene, TOP_LEFT) == [(5.0, 12.0), (25.0, 28.0)]


def test_ground_truth_merges_close_intervals_and_keeps_partly_masked_movers() -> None:
    scene = Scene(
        30.0,
        (
            Mover(1.0, 2.0, 0.5, 0.06),
            Mover(2.5, 4.0, 0.5, 0.06),  # 0.5 s after the first: merged
            Mover(5.0, 6.0, 0.5, 0.06),  # 1 s after: separate
            Mover(10.0, 20.0, 0.1, 0.06, x_from=0.05, x_to=0.95),  # masked while left of x = 0.25
            Mover(25.0, 26.0, 0.5, 0.06),
            Mover(25.5, 29.0, 0.3, 0.06),  # overlapping: merged
        ),
    )
    truth = ground_truth(scene, TOP_LEFT)
    assert truth[:2] == [(1.0, 4.0), (5.0, 6.0)]
    # Centre leaves [x0 + half, 0.25 - half] when x = 0.25 - 0.03 / (16/9) = 0.233: t = 10 + 10 * 0.183 / 0.9.
    start, end = truth[2]
    assert start == pytest.approx(10 + 10 * (0.25 - 0.03 * 9 / 16 - 0.05) / 0.9) and end == 20.0
    assert truth[3:] == [(25.0, 29.0)]
    assert ground_truth(scene)[2] == (10.0, 20.0)


def test_long_scene_is_a_reproducible_five_minute_script() -> None:
    scene = long_scene(7)
    assert scene == long_scene(7) != long_scene(8)
    assert 240 <= scene.seconds <= 360
    assert len(scene.movers) == 20 and 2 <= len(scene.steps) <= 4
    for m in scene.movers:
        assert 1.0 <= m.end_s - m.start_s <= 8.0
    for a, b in zip(scene.movers, scene.movers[1:], strict=False):
        assert b.start_s - a.end_s >= 3.0
    truth = ground_truth(scene)
    assert len(truth) == 20  # gaps >= 3 s: nothing merged
    for step in scene.steps:  # lighting changes happen when nothing moves
        assert all(not a - 1.5 < step.at_s < b + 1.5 for a, b in truth)
    assert np.isclose(sum(b - a for a, b in truth), sum(m.end_s - m.start_s for m in scene.movers))
