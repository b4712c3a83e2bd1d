"""Scripted scenes with ground truth for motion tests: numpy frames piped into ffmpeg (libx264).

A scene is a static textured background with per-frame sensor noise, small dark squares
(``Mover``) crossing it horizontally, and global lighting changes (``BrightnessStep``) that are
not motion.  ``render_scene`` encodes it like ``vigil.sim.clips.make_h264_clip`` (IDR first,
fixed GOP, no B-frames unless asked, yuv420p, Main profile), so ``camera_server``'s ``file=`` mode
replays it;
``ground_truth`` says when an unmasked mover is visible.  Rendering is deterministic (seeded).
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

ASPECT = 16 / 9  # width / height that ground_truth assumes (a mover's side is a fraction of the height)
MERGE_GAP_S = 1.0
Gray = npt.NDArray[np.uint8]
_NOISE_PAD = 64
_NOISE_BANK = 4


@dataclass(frozen=True)
class Mover:
    """A dark square (side ``size_frac`` of the picture height) centred at height ``y_frac``, its
    centre moving at constant speed from ``x_from`` to ``x_to`` (fractions of the width); visible
    for ``start_s <= t < end_s``."""

    start_s: float
    end_s: float
    y_frac: float
    size_frac: float
    x_from: float = 0.05
    x_to: float = 0.95


@dataclass(frozen=True)
class BrightnessStep:
    """From ``at_s`` on, every pixel is ``gain * p + offset`` (absolute, not compounding; the
    latest step wins): lights on, auto-exposure.  Not motion."""

    at_s: float
    gain: float
    offset: float


@dataclass(frozen=True)
class Scene:
    seconds: float
    movers: tuple[Mover, ...]
    steps: tuple[BrightnessStep, ...] = ()
    noise_sigma: float = 3.0
    seed: int = 0  # of the background texture and the noise


def _background(width: int, height: int, seed: int) -> npt.NDArray[np.float32]:
    """Smooth gradients, a fixed coarse texture and a few fixed shapes, within ~[40, 170] so a
    gain of 1.4 does not clip."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / width, y / height
    img = 70 + 45 * u + 25 * v + 10 * np.sin(2 * np.pi * (1.5 * u + 0.7 * v)) * np.cos(2 * np.pi * 2.0 * v)
    rng = np.random.default_rng(seed + 1)
    coarse = rng.normal(0, 6, (height // 8 + 2, width // 8 + 2)).astype(np.float32)
    img += np.kron(coarse, np.ones((8, 8), np.float32))[:height, :width]  # blocky "wall" texture
    shapes = [  # (x0, y0, x1, y1, shade): a door, windows, a bench, a poster
        (0.70, 0.25, 0.80, 0.70, 55.0), (0.30, 0.12, 0.45, 0.30, 150.0), (0.50, 0.12, 0.62, 0.30, 150.0),
        (0.10, 0.78, 0.40, 0.84, 95.0), (0.85, 0.40, 0.95, 0.55, 130.0),
    ]
    for x0, y0, x1, y1, shade in shapes:
        img[int(y0 * height) : int(y1 * height), int(x0 * width) : int(x1 * width)] = shade
    disc = (u - 0.2) ** 2 * ASPECT**2 + (v - 0.5) ** 2 < 0.08**2
    img[disc] = 120.0
    out: npt.NDArray[np.float32] = np.clip(img, 40, 170).astype(np.float32)
    return out


def _mover_box(m: Mover, t: float, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Pixel box (x0, y0, x1, y1) of a mover at time t, or None when it is not visible."""
    if not m.start_s <= t < m.end_s:
        return None
    frac = (t - m.start_s) / (m.end_s - m.start_s)
    side = max(2, round(m.size_frac * height))
    cx = (m.x_from + (m.x_to - m.x_from) * frac) * width
    cy = m.y_frac * height
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    return max(0, x0), max(0, y0), min(width, x0 + side), min(height, y0 + side)


def scene_frames(scene: Scene, width: int = 640, height: int = 360, fps: int = 15) -> Iterator[Gray]:
    """The scene's grayscale frames (deterministic; the same array is reused between yields)."""
    background = _background(width, height, scene.seed)
    rng = np.random.default_rng(scene.seed)
    # Noise: random windows into a few padded noise frames (views, no per-frame generation).
    bank = rng.normal(0, scene.noise_sigma, (_NOISE_BANK, height + _NOISE_PAD, width + _NOISE_PAD))
    noise = bank.astype(np.float32)
    steps = sorted(scene.steps, key=lambda s: s.at_s)
    frame = np.empty((height, width), np.float32)
    out = np.empty((height, width), np.uint8)
    for i in range(round(scene.seconds * fps)):
        t = i / fps
        np.copyto(frame, background)
        for m in scene.movers:
            box = _mover_box(m, t, width, height)
            if box is not None:
                frame[box[1] : box[3], box[0] : box[2]] = 20.0
        step = next((s for s in reversed(steps) if s.at_s <= t), None)
        if step is not None:
            frame *= step.gain
            frame += step.offset
        k, dy, dx = (int(v) for v in rng.integers(0, (_NOISE_BANK, _NOISE_PAD, _NOISE_PAD)))
        frame += noise[k, dy : dy + height, dx : dx + width]
        np.clip(frame, 0, 255, out=frame)
        np.rint(frame, out=frame)
        out[...] = frame
        yield out


def render_scene(
    scene: Scene, path: Path, width: int = 640, height: int = 360, fps: int = 15, gop: int = 15,
    bitrate_kbps: int = 800, bframes: int = 0,
) -> Path:
    """Encode the scene with libx264 (``.mp4``/``.mkv``/``.ts``, or Annex-B for ``.h264``/``.264``).
    ``bframes`` > 0 puts that many B-frames between references (x264's default B-pyramid: the
    decoder holds two pictures back), as many cameras' Main-profile streams do.  The frames are
    deterministic; x264's threaded rate control makes the bytes vary a little."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
        "-an", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", str(bframes),
        "-b:v", f"{bitrate_kbps}k", "-maxrate", f"{bitrate_kbps}k", "-bufsize", f"{bitrate_kbps}k",
    ]  # fmt: skip
    if bframes:
        cmd += ["-x264-params", "b-adapt=0"]  # every GOP has them, not only where x264 finds them useful
    if path.suffix in (".h264", ".264"):
        cmd += ["-f", "h264"]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([*cmd, str(path)], stdin=subprocess.PIPE, stderr=err)
        assert proc.stdin is not None
        try:
            for frame in scene_frames(scene, width, height, fps):
                proc.stdin.write(frame.tobytes())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        code = proc.wait()
        if code != 0 or not path.is_file():
            err.seek(0)
            raise RuntimeError(f"ffmpeg failed to encode {path}: {err.read().decode(errors='replace').strip()}")
    return path


def standard_scene() -> Scene:
    """32 s: a mover crossing the lower half at 5-12 s and at 25-28 s; lights 1.4x brighter at
    18 s (no motion); a mover only inside the top-left region x < 0.25, y < 0.25 at 14.5-16.5 s
    (mask it)."""
    return Scene(
        seconds=32.0,
        movers=(
            Mover(5.0, 12.0, y_frac=0.70, size_frac=0.06),
            Mover(14.5, 16.5, y_frac=0.12, size_frac=0.06, x_from=0.05, x_to=0.20),
            Mover(25.0, 28.0, y_frac=0.62, size_frac=0.06, x_from=0.95, x_to=0.05),
        ),
        steps=(BrightnessStep(18.0, 1.4, 0.0),),
    )


def long_scene(seed: int) -> Scene:
    """~5 minutes: 20 random movers (1-8 s long, 3-17 s apart, random height, size and
    direction) and 4 brightness steps, each in the middle of a gap of >= 6 s."""
    rng = random.Random(seed)
    movers: list[Mover] = []
    gaps: list[tuple[float, float]] = []
    t = 4.0
    for _ in range(20):
        gap = rng.uniform(3.0, 17.0)
        gaps.append((t, t + gap))
        t += gap
        duration = rng.uniform(1.0, 8.0)
        x_from, x_to = (0.05, 0.95) if rng.random() < 0.5 else (0.95, 0.05)
        movers.append(Mover(round(t, 2), round(t + duration, 2), y_frac=rng.uniform(0.15, 0.85),
                            size_frac=rng.uniform(0.05, 0.10), x_from=x_from, x_to=x_to))
        t = movers[-1].end_s
    seconds = round(t + 6.0, 2)
    wide = [g for g in gaps[1:] if g[1] - g[0] >= 6.0]
    picks = sorted(rng.sample(wide, min(4, len(wide))))
    levels = [(1.3, 0.0), (0.8, 5.0), (1.15, -8.0), (1.0, 0.0)]
    steps = tuple(BrightnessStep(round((a + b) / 2, 2), g, o) for (a, b), (g, o) in zip(picks, levels, strict=False))
    return Scene(seconds=seconds, movers=tuple(movers), steps=steps, seed=seed)


def _covered(m: Mover, rect: tuple[float, float, float, float], aspect: float) -> tuple[float, float] | None:
    """The time span during which the mover lies entirely inside ``rect`` (or None)."""
    x0, y0, x1, y1 = rect
    half_y = m.size_frac / 2
    half_x = half_y / aspect
    if not (y0 <= m.y_frac - half_y and m.y_frac + half_y <= y1):
        return None
    lo, hi = x0 + half_x, x1 - half_x  # centre positions keeping the square inside
    if lo > hi:
        return None
    dur = m.end_s - m.start_s
    if m.x_to == m.x_from:
        return (m.start_s, m.end_s) if lo <= m.x_from <= hi else None
    ta = m.start_s + (lo - m.x_from) / (m.x_to - m.x_from) * dur
    tb = m.start_s + (hi - m.x_from) / (m.x_to - m.x_from) * dur
    a, b = max(min(ta, tb), m.start_s), min(max(ta, tb), m.end_s)
    return (a, b) if a < b else None


def ground_truth(
    scene: Scene, masked: tuple[tuple[float, float, float, float], ...] = (), aspect: float = ASPECT,
) -> list[tuple[float, float]]:
    """Intervals (s) during which a mover not entirely inside one ``masked`` rectangle
    (x0, y0, x1, y1 fractions) is visible, sorted, merged when less than 1 s apart."""
    spans: list[tuple[float, float]] = []
    for m in scene.movers:
        pieces = [(m.start_s, min(m.end_s, scene.seconds))]
        for rect in masked:
            cover = _covered(m, rect, aspect)
            if cover is None:
                continue
            pieces = [part for a, b in pieces for part in ((a, min(b, cover[0])), (max(a, cover[1]), b))]
        spans += [(a, b) for a, b in pieces if b - a > 1e-6]
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a - merged[-1][1] < MERGE_GAP_S:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged
