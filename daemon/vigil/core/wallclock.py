"""Placing media time on the wall clock.

Media time continues the wall clock of an anchor: segments of one run start where the previous
one ended; the motion worker's samples follow its session's first packet. Camera clocks drift
against the appliance's (often by 100 ppm: 8 s a day), so when that continued wall time is more
than `max_drift_ns` from when the media actually arrived, the time is re-anchored to the arrival.

Where the camera says when a picture was taken (RTCP sender reports, the native ingest), that
time is the anchor instead of the arrival, unless it is more than `max_drift_ns` from the arrival
(a camera clock that is not kept in time is not trusted): `anchor_wall_ns`."""

from __future__ import annotations

from vigil.core.timebase import NS_PER_SECOND

DEFAULT_MAX_DRIFT_NS = NS_PER_SECOND


def continued_wall_ns(
    continued_wall_ns: int | None, received_wall_ns: int, max_drift_ns: int = DEFAULT_MAX_DRIFT_NS
) -> tuple[int, bool]:
    """(wall time, re-anchored?) of media that arrived at `received_wall_ns` and, by media time,
    falls at `continued_wall_ns` (None: no anchor yet)."""
    if continued_wall_ns is None:
        return received_wall_ns, False
    if abs(continued_wall_ns - received_wall_ns) > max_drift_ns:
        return received_wall_ns, True
    return continued_wall_ns, False


def anchor_wall_ns(received_wall_ns: int, camera_wall_ns: int | None, max_drift_ns: int = DEFAULT_MAX_DRIFT_NS) -> int:
    """The wall time to anchor media on: the camera's own time of it when known and within
    `max_drift_ns` of its arrival, else the arrival."""
    if camera_wall_ns is None or abs(camera_wall_ns - received_wall_ns) > max_drift_ns:
        return received_wall_ns
    return camera_wall_ns
