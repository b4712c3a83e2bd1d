"""Whether a clip's frames are exactly the recorded frames of the range. Pure: the shell demuxes
the clip and the segments (PyAV) into `Frame`s; this compares.

The expected frames follow the clip rules (design/evidence.md, "Clips"): from the keyframe at or
before the range start when a segment covers the start (else the first keyframe after it),
through the last frame decoding before the range end (or before `stopped_at_wall_ns`, where the
codec parameters changed and the clip stopped). Each expected frame has an expected clip time:
a segment lands at its wall-clock offset from the clip's first frame, never earlier than the end
of the previous one, so a recording gap stays a gap. The clip must hold exactly those frames,
byte for byte, each at its expected time (within rounding)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vigil.core.timebase import ns_to_ticks, ticks_to_ns

TIMING_TOLERANCE_90K = 1  # ns <-> tick rounding


@dataclass(frozen=True)
class Frame:
    """One video packet: its bytes by SHA-256 (so an hour of video is not held in memory)."""

    sha256: bytes
    size_bytes: int
    dts_90k: int  # relative to the file's first frame
    duration_90k: int
    keyframe: bool


@dataclass(frozen=True)
class RecordedSegment:
    start_wall_ns: int
    end_wall_ns: int
    frames: tuple[Frame, ...]


@dataclass(frozen=True)
class Expected:
    frame: Frame
    clip_90k: int


def _first(segments: Sequence[RecordedSegment], start_wall_ns: int) -> tuple[int, int] | None:
    """(segment, frame) the clip starts with."""
    for s, seg in enumerate(segments):
        if seg.start_wall_ns <= start_wall_ns < seg.end_wall_ns:
            keys = [f for f, fr in enumerate(seg.frames)
                    if fr.keyframe and seg.start_wall_ns + ticks_to_ns(fr.dts_90k) <= start_wall_ns]
            if keys:
                return s, keys[-1]
    for s, seg in enumerate(segments):
        for f, fr in enumerate(seg.frames):
            if fr.keyframe and seg.start_wall_ns + ticks_to_ns(fr.dts_90k) >= start_wall_ns:
                return s, f
    return None


def expected_frames(segments: Sequence[RecordedSegment], start_wall_ns: int, end_wall_ns: int,
                    stopped_at_wall_ns: int | None = None) -> list[Expected]:
    usable = [s for s in segments if stopped_at_wall_ns is None or s.start_wall_ns < stopped_at_wall_ns]
    first = _first(usable, start_wall_ns)
    if first is None:
        return []
    s0, f0 = first
    first_wall = usable[s0].start_wall_ns + ticks_to_ns(usable[s0].frames[f0].dts_90k)
    out: list[Expected] = []
    clip_end_90k = 0
    for s in range(s0, len(usable)):
        seg = usable[s]
        frames = seg.frames[f0:] if s == s0 else seg.frames
        if not frames or seg.start_wall_ns >= end_wall_ns:
            break
        offset = max(ns_to_ticks(seg.start_wall_ns - first_wall), clip_end_90k - frames[0].dts_90k)
        for fr in frames:
            if seg.start_wall_ns + ticks_to_ns(fr.dts_90k) >= end_wall_ns:
                return out
            out.append(Expected(fr, offset + fr.dts_90k))
            clip_end_90k = offset + fr.dts_90k + fr.duration_90k
    return out


def compare_clip(clip: Sequence[Frame], segments: Sequence[RecordedSegment], start_wall_ns: int,
                 end_wall_ns: int, stopped_at_wall_ns: int | None = None) -> list[str]:
    """Empty when the clip is exactly the recorded frames at their times; else the first difference."""
    want = expected_frames(segments, start_wall_ns, end_wall_ns, stopped_at_wall_ns)
    base = want[0].clip_90k if want else 0
    for i, (got, expected) in enumerate(zip(clip, want, strict=False)):
        if got.sha256 != expected.frame.sha256:
            same = ", same length" if got.size_bytes == expected.frame.size_bytes else ""
            return [f"frame {i} differs from the recorded frame ({got.size_bytes} vs {expected.frame.size_bytes}"
                    f" bytes{same})"]
        if abs(got.dts_90k - (expected.clip_90k - base)) > TIMING_TOLERANCE_90K:
            return [f"frame {i} is at {got.dts_90k} ticks (90 kHz) in the clip; recorded at"
                    f" {expected.clip_90k - base}"]
    if len(clip) != len(want):
        return [f"the clip has {len(clip)} frames; the recording has {len(want)} in the range"]
    return []
