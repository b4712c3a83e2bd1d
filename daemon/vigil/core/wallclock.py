"""Placing media time on the wall clock.

Segments of one run follow each other without gaps in media time, so each starts at the wall
time where the previous one ended. Camera clocks drift against the appliance's (often by
100 ppm: 8 s a day), so when that continued wall time is further than `max_drift_ns` from when
the segment's first frame actually arrived, the segment is re-anchored to the arrival time."""

from __future__ import annotations

from vigil.core.timebase import NS_PER_SECOND

DEFAULT_MAX_DRIFT_NS = NS_PER_SECOND


def segment_start_wall_ns(
    previous_end_wall_ns: int | None, received_wall_ns: int, max_drift_ns: int = DEFAULT_MAX_DRIFT_NS
) -> tuple[int, bool]:
    """(start wall time, re-anchored?) for a segment whose first frame arrived at `received_wall_ns`."""
    if previous_end_wall_ns is None:
        return received_wall_ns, False
    if abs(previous_end_wall_ns - received_wall_ns) > max_drift_ns:
        return received_wall_ns, True
    return previous_end_wall_ns, False
