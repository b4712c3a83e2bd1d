"""Motion scoring: which parts of a small grayscale picture changed, robust to sensor noise and to
global lighting changes. Pure numpy; the caller decodes and passes time in.

Per sample (a downscaled luma frame):
1. Normalize robustly: subtract the median and divide by the interquartile range, so a global
   gain or offset change (lights on, auto-exposure) leaves the picture the same; pixels clipped
   to black or white in either sample are left out.
2. Compare with the previous sample (not a slowly learned background: an object that left
   leaves no ghost, and one that stopped stops counting as motion).
3. A pixel changed when its difference exceeds `noise_factor` times the frame's median absolute
   difference (a robust estimate of sensor noise) and an absolute floor.
4. Cells of a GRID x GRID heatmap hold the fraction of changed pixels that have a changed
   neighbour (noise flips isolated pixels); masked cells are zeroed.
5. If most cells (or the typical pixel) change at once, that is a scene change (camera moved, IR switch with different
   contrast), not motion: the background is reset and the sample scores 0.
6. The score is the largest cell value; motion when it exceeds the sensitivity threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

GRID = 16
Gray = npt.NDArray[np.uint8]
Heatmap = npt.NDArray[np.float32]


@dataclass(frozen=True)
class MotionParams:
    # Fraction (0..1) of a cell's pixels that must change for the cell to count as moving.
    cell_threshold: float = 0.15
    noise_factor: float = 4.0
    abs_floor: float = 0.2  # in interquartile ranges
    scene_change_fraction: float = 0.6  # this share of moving cells = a scene change
    scene_change_median: float = 0.5  # or the typical pixel changing this much (IR switch, camera moved)
    mask: tuple[tuple[int, int], ...] = ()  # (row, col) cells to ignore

    @classmethod
    def with_sensitivity(cls, sensitivity: float, mask: tuple[tuple[int, int], ...] = ()) -> MotionParams:
        """sensitivity 0..1 (default 0.5): higher finds smaller or fainter movement."""
        return cls(cell_threshold=0.05 + 0.2 * (1.0 - sensitivity), mask=mask)


@dataclass(frozen=True)
class MotionSample:
    wall_ns: int
    score: float  # 0..1: the largest cell's changed fraction (0 for a scene change)
    heatmap: Heatmap  # GRID x GRID, 0..1
    moving: bool
    scene_change: bool


class _CellMap:
    """Which heatmap cell each pixel of an h x w picture belongs to."""

    def __init__(self, h: int, w: int) -> None:
        rows = np.arange(h) * GRID // h
        cols = np.arange(w) * GRID // w
        self.rows, self.cols = rows, cols
        self.index = (rows[:, None] * GRID + cols[None, :]).ravel()
        self.sizes = np.bincount(self.index, minlength=GRID * GRID).astype(np.float32)

    def fractions(self, changed: npt.NDArray[np.bool_]) -> Heatmap:
        counts = np.bincount(self.index, weights=changed.ravel(), minlength=GRID * GRID)
        return (counts / self.sizes).astype(np.float32).reshape(GRID, GRID)


@dataclass
class MotionScorer:
    params: MotionParams = field(default_factory=MotionParams)
    _background: npt.NDArray[np.float32] | None = None
    _cells: _CellMap | None = None
    _unclipped: npt.NDArray[np.bool_] | None = None
    _mask: npt.NDArray[np.bool_] = field(default_factory=lambda: np.ones((GRID, GRID), dtype=bool))

    def __post_init__(self) -> None:
        for row, col in self.params.mask:
            self._mask[row, col] = False

    def reset(self) -> None:
        """Forget the previous sample (after a reconnect): the next one only primes."""
        self._background = None

    def _reset(self, normalized: npt.NDArray[np.float32], wall_ns: int, scene_change: bool) -> MotionSample:
        self._background = normalized
        return MotionSample(wall_ns, 0.0, np.zeros((GRID, GRID), np.float32), False, scene_change)

    def score(self, gray: Gray, wall_ns: int) -> MotionSample:
        p = self.params
        q25, q50, q75 = np.percentile(gray, (25, 50, 75))
        normalized = ((gray.astype(np.float32) - np.float32(q50)) / np.float32(q75 - q25 + 1.0)).astype(np.float32)
        unclipped = (gray > 3) & (gray < 252)
        if (self._background is None or self._background.shape != normalized.shape or self._cells is None
                or self._unclipped is None):
            self._cells = _CellMap(*normalized.shape)
            self._unclipped = unclipped
            return self._reset(normalized, wall_ns, False)
        diff = np.abs(normalized - self._background)
        self._background = normalized
        both = unclipped & self._unclipped
        self._unclipped = unclipped
        typical = float(np.median(diff[::3, ::3]))  # a ninth of the pixels estimates noise as well
        changed = (diff > max(p.noise_factor * typical, p.abs_floor)) & both
        # A real change covers neighbouring pixels; sensor noise flips isolated ones.
        neighbour = np.zeros_like(changed)
        neighbour[1:] |= changed[:-1]
        neighbour[:-1] |= changed[1:]
        neighbour[:, 1:] |= changed[:, :-1]
        neighbour[:, :-1] |= changed[:, 1:]
        heat = self._cells.fractions(changed & neighbour) * self._mask
        moving_cells = heat > p.cell_threshold
        if typical > p.scene_change_median or moving_cells.mean() >= p.scene_change_fraction:
            return MotionSample(wall_ns, 0.0, np.zeros((GRID, GRID), np.float32), False, True)
        score = float(heat.max())
        return MotionSample(wall_ns, score, heat, score > p.cell_threshold, False)
