"""Motion samples into intervals, with hysteresis; and region filtering. Pure: time is passed in.

An interval starts at the first moving sample and goes on while samples keep moving above the
(lower) keep-going threshold; it closes at the first sample more than the hold after the last
such sample, and ends one sample spacing after it (the movement lasted at least until the next
sample that saw none). Each interval remembers the cells that moved, so a search can ask for one
region only.

The hold follows the camera's real sample spacing, measured from the samples themselves:
    hold = max(min_hold_ns, HOLD_SPACINGS x spacing),
    spacing = the (lower) median of the last SPACING_WINDOW gaps between consecutive samples.
A fixed hold shorter than the spacing (1 s against keyframes 2 s apart) would close every
interval before the next sample could continue it, splitting one movement into back-to-back
pieces. 1.5 spacings lets the very next sample continue an interval even when it comes late
(jitter), while one quiet sample between two moving ones still splits them (in substream mode,
5 samples a second, the 1 s minimum rules: it takes 1 s of quiet). The median ignores a one-off
gap (the worker skipped packets); the gap across the end of a session is not measured (flush).
Before any spacing is known the hold is `min_hold_ns`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from vigil.core.errors import BadRequestError
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


def parse_region(text: str) -> int:
    """'x0,y0,x1,y1' in fractions of the picture (the API's and the CLI's `region`) → a cell bitmask."""
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
        return region_bitmask(x0, y0, x1, y1)
    except ValueError as error:
        raise BadRequestError(f"region: {error}" if "region" in str(error) else
                              "region must be x0,y0,x1,y1 (fractions 0..1 of width and height)") from None


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


HOLD_SPACINGS = 1.5
SPACING_WINDOW = 8
DEFAULT_MIN_HOLD_NS = 1_000_000_000


def hold_ns(min_hold_ns: int, spacing_ns: int | None) -> int:
    """How long after its last moving sample an interval stays open (see the module docstring)."""
    if spacing_ns is None:
        return min_hold_ns
    return max(min_hold_ns, round(HOLD_SPACINGS * spacing_ns))


class SampleSpacing:
    """The typical gap between consecutive samples: the median of the last SPACING_WINDOW gaps."""

    def __init__(self) -> None:
        self._gaps: deque[int] = deque(maxlen=SPACING_WINDOW)
        self._last_ns: int | None = None

    def add(self, wall_ns: int) -> None:
        if self._last_ns is not None and wall_ns > self._last_ns:
            self._gaps.append(wall_ns - self._last_ns)
        self._last_ns = wall_ns

    def restart(self) -> None:
        """The stream stopped: the next sample's gap to the last one is not a spacing."""
        self._last_ns = None

    @property
    def spacing_ns(self) -> int | None:
        if not self._gaps:
            return None
        gaps = sorted(self._gaps)
        return gaps[(len(gaps) - 1) // 2]  # the lower median: one long gap in two does not count


class IntervalTracker:
    def __init__(self, on_threshold: float, min_hold_ns: int = DEFAULT_MIN_HOLD_NS) -> None:
        self.on_threshold = on_threshold
        self.keep_threshold = on_threshold / 2
        self.min_hold_ns = min_hold_ns
        self.spacing = SampleSpacing()
        self._start: int | None = None
        self._last_moving = 0
        self._peak = 0.0
        self._cells = 0

    @property
    def hold_ns(self) -> int:
        return hold_ns(self.min_hold_ns, self.spacing.spacing_ns)

    def feed(self, sample: MotionSample) -> MotionInterval | None:
        """Returns an interval when this sample closes one."""
        closed = None
        self.spacing.add(sample.wall_ns)
        if self._start is not None and sample.wall_ns - self._last_moving > self.hold_ns:
            closed = self._close()
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
        """The stream ended (session end, shutdown): close the open interval, if any. The spacing
        measured so far is kept (same camera), the gap to the next session's samples is not."""
        self.spacing.restart()
        return self._close()

    def _close(self) -> MotionInterval | None:
        if self._start is None:
            return None
        interval = MotionInterval(self._start, self._last_moving + (self.spacing.spacing_ns or 0), self._peak,
                                  self._cells)
        self._start = None
        return interval
