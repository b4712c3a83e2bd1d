"""Whether a clip's frames are exactly the recorded frames of the range. Pure: the shell demuxes
the clip and the segments (PyAV) into `Frame`s; this compares.

Expected: the recorded frames from the last keyframe at or before the range start (the first
keyframe in the range if none) through the last frame starting before the range end, in
recording order. The clip must hold exactly those frames, byte for byte, and the decode-time
step between consecutive frames must be the recorded one (within a run of the camera; across a
gap between runs only its order is checked, since no recorded time exists in between)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vigil.core.timebase import ticks_to_ns

TIMING_TOLERANCE_90K = 1  # rounding of a clip timescale other than 90 kHz


@dataclass(frozen=True)
class Frame:
    data: bytes
    dts_90k: int  # relative to the file's first frame
    keyframe: bool


@dataclass(frozen=True)
class RecordedSegment:
    run_id: int
    start_wall_ns: int
    media_start_90k: int
    frames: tuple[Frame, ...]


@dataclass(frozen=True)
class _Placed:
    frame: Frame
    run_id: int
    media_90k: int  # the run's media time
    wall_ns: int


def expected_frames(segments: Sequence[RecordedSegment], start_wall_ns: int, end_wall_ns: int) -> list[_Placed]:
    placed = [_Placed(f, s.run_id, s.media_start_90k + f.dts_90k, s.start_wall_ns + ticks_to_ns(f.dts_90k))
              for s in segments for f in s.frames]
    placed = [p for p in placed if p.wall_ns < end_wall_ns]
    keys = [i for i, p in enumerate(placed) if p.frame.keyframe and p.wall_ns <= start_wall_ns]
    first = keys[-1] if keys else next((i for i, p in enumerate(placed) if p.frame.keyframe
                                        and p.wall_ns >= start_wall_ns), len(placed))
    return placed[first:]


def compare_clip(clip: Sequence[Frame], segments: Sequence[RecordedSegment], start_wall_ns: int,
                 end_wall_ns: int) -> list[str]:
    """Empty when the clip is exactly the recorded frames; else what differs (first difference)."""
    want = expected_frames(segments, start_wall_ns, end_wall_ns)
    for i, (got, expected) in enumerate(zip(clip, want, strict=False)):
        if got.data != expected.frame.data:
            return [f"frame {i} differs from the recorded frame ({len(got.data)} vs {len(expected.frame.data)} bytes"
                    f"{', same length' if len(got.data) == len(expected.frame.data) else ''})"]
        if i == 0:
            continue
        previous = want[i - 1]
        got_step = got.dts_90k - clip[i - 1].dts_90k
        if expected.run_id == previous.run_id:
            want_step = expected.media_90k - previous.media_90k
            if abs(got_step - want_step) > TIMING_TOLERANCE_90K:
                return [f"frame {i} is {got_step} ticks (90 kHz) after the previous one; recorded {want_step}"]
        elif got_step <= 0:
            return [f"frame {i} (after a recording gap) does not come after the previous one"]
    if len(clip) != len(want):
        return [f"the clip has {len(clip)} frames; the recording has {len(want)} in the range"]
    return []
