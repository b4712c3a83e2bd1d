"""Motion samples into intervals, with hysteresis; and region filtering. Pure: time is passed in.

An interval starts at the first moving sample and goes on while samples keep moving above the
(lower) keep-going threshold; it closes `end_after_ns` after the last such sample and ends one
sample period after it (the movement lasted at least until the next sample that saw none).
Each interval remembers the cells that moved, so a search can ask for one region only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vigil.core.motion import GRID, Heatmap, MotionSample

ALL_CELLS = (1 << (GRID * GRID)) - 1


def cells_bitmask(heat: Heatmap, threshold: float) -> int:
    """Bit r*GRID+c is set where the cell's value exceeds the threshold."""
    bits = 0
    for flat in np.flatnonzero(heat.ravel() > threshold):
        bits |= 1 << int(flat)
    return bits


def region_bitmask(x0: float, y0: float, x1: float, y1: float) -> int:
    """Cells overlapping the rectangle (fractions of width and height, 0..1)."""
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise ValueError("a region is x0,y0,x1,y1 with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1")
    bits = 0
    for row in range(int(y0 * GRID), min(GRID, int(np.ceil(y1 * GRID)))):
        for col in range(int(x0 * GRID), min(GRID, int(np.ceil(x1 * GRID)))):
            bits |= 1 << (row * GRID + col)
    return bits


def bitmask_cells(bits: int) -> list[tuple[int, int]]:
    return [(i // GRID, i % GRID) for i in range(GRID * GRID) if bits >> i & 1]


def mask_cells(rects: tuple[tuple[float, float, float, float], ...]) -> tuple[tuple[int, int], ...]:
    """The (row, col) cells the configured mask rectangles touch."""
    bits = 0
    for rect in rects:
        bits |= region_bitmask(*rect)
    return tuple(bitmask_cells(bits))


@dataclass(frozen=True)
class MotionInterval:
    start_wall_ns: int
    end_wall_ns: int
    peak: float
    cells: int  # bitmask of the cells that moved


class IntervalTracker:
    def __init__(self, on_threshold: float, end_after_ns: int = 1_000_000_000) -> None:
        self.on_threshold = on_threshold
        self.keep_threshold = on_threshold / 2
        self.end_after_ns = end_after_ns
        self._start: int | None = None
        self._last_moving = 0
        self._peak = 0.0
        self._cells = 0
        self._last_sample: int | None = None
        self._period_ns = 0

    def feed(self, sample: MotionSample) -> MotionInterval | None:
        """Returns an interval when this sample closes one."""
        closed = None
        if self._last_sample is not None and sample.wall_ns > self._last_sample:
            self._period_ns = sample.wall_ns - self._last_sample
        self._last_sample = sample.wall_ns
        if self._start is not None and sample.wall_ns - self._last_moving > self.end_after_ns:
            closed = self.flush()
        if self._start is None:
            if sample.score > self.on_threshold:
                self._start, self._last_moving, self._peak = sample.wall_ns, sample.wall_ns, sample.score
                self._cells = cells_bitmask(sample.heatmap, self.keep_threshold)
        elif sample.score > self.keep_threshold:
            self._last_moving = sample.wall_ns
            self._peak = max(self._peak, sample.score)
            self._cells |= cells_bitmask(sample.heatmap, self.keep_threshold)
        return closed

    def flush(self) -> MotionInterval | None:
        """Close the open interval, if any (end of the stream, shutdown)."""
        if self._start is None:
            return None
        interval = MotionInterval(self._start, self._last_moving + self._period_ns, self._peak, self._cells)
        self._start = None
        return interval
