"""Decode timestamps for access units that arrive over RTP with presentation times only.

RTP carries one timestamp per access unit: its presentation time (pts). Access units arrive in
decode order, so with B-frames the pts go back and forth; a muxer needs a decode timestamp (dts)
that rises strictly and is never after the pts.

Rules:
- Reorder depth `d` is learned: the largest number of earlier access units (in the window) whose
  pts is greater than a newly arrived one's, capped at MAX_REORDER_DEPTH. Without B-frames it
  stays 0 and dts = pts.
- dts of access unit n = the (len(window) - 1 - d)-th smallest pts of the last WINDOW pts
  (this one included): the pts of the picture shown d pictures before the newest decodable one,
  which is the decoder's delay of d pictures. With fewer than d + 1 pts seen, it is the smallest
  pts less (d - index) frame intervals (the smallest positive pts step seen; DEFAULT_FRAME_90K
  before one is).
- Then dts is forced strictly above the previous dts; MediaClock (core/media_clock.py) repairs
  what is still implausible (a dts after its pts gets composition offset 0 there).
- A pts jump beyond MAX_JUMP_90K either way (a camera clock reset) restarts the window and the
  dts from there (MediaClock re-bases such a jump); the depth learned is kept: a camera's GOP
  structure does not change with its clock.
- A session's first pictures come before d is known: until the first B-frame reveals it their
  dts equal their pts, so the very first GOP may get a few repaired timestamps. Callers keep the
  learned depth from one session to the next (`initial_depth`).
Bounded: WINDOW pts held. Pure: no clocks, no I/O.
"""

from __future__ import annotations

from collections import deque

MAX_REORDER_DEPTH = 4
WINDOW = 16
DEFAULT_FRAME_90K = 6000
MAX_JUMP_90K = 5 * 90_000


class DecodeOrder:
    """pts (in arrival = decode order) -> a monotonic dts, same units."""

    def __init__(self, initial_depth: int = 0) -> None:
        self.depth = min(max(initial_depth, 0), MAX_REORDER_DEPTH)
        self._window: deque[int] = deque(maxlen=WINDOW)
        self._min_step: int | None = None
        self._last_pts: int | None = None
        self._last_dts: int | None = None

    def dts(self, pts: int) -> int:
        """The decode timestamp of the next access unit, whose presentation timestamp is `pts`."""
        last = self._last_pts
        if last is not None:
            step = pts - last
            if abs(step) > MAX_JUMP_90K:
                self._window.clear()
                self._last_dts = None
            elif step > 0:
                self._min_step = step if self._min_step is None else min(self._min_step, step)
        later = sum(1 for p in self._window if p > pts)
        if later > self.depth:
            self.depth = min(later, MAX_REORDER_DEPTH)
        self._window.append(pts)
        self._last_pts = pts
        if self.depth == 0:
            dts = pts
        else:
            ordered = sorted(self._window)
            at = len(ordered) - 1 - self.depth
            dts = ordered[at] if at >= 0 else ordered[0] + at * (self._min_step or DEFAULT_FRAME_90K)
        if self._last_dts is not None and dts <= self._last_dts:
            dts = self._last_dts + 1
        self._last_dts = dts
        return dts
