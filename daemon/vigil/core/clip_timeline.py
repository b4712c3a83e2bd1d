"""Which recorded fragments make a clip of [start, end), and where each lands on the clip's timeline.

Pure arithmetic over what the segment files say (fragment decode times and sample durations, in the
90 kHz track timescale) and what the index says (each segment's wall-clock start). No I/O.

Rules (design/evidence.md, "Clips"):
- The clip starts at the start of the fragment holding the keyframe at or before `start` (every
  segment starts with one); if nothing is recorded at `start`, at the first keyframe after it.
- It ends with the last frame whose decode time is before `end`: the fragment straddling `end` is
  cut after that frame.
- A fragment's clip decode time is its wall-clock offset from the clip's first frame, so a gap in
  the recording stays a gap of the same length in the clip (never spliced); segments of one run are
  contiguous and land back to back. The timeline never goes backwards (an overlap is clamped).
- Parts of [start, end) that no kept frame covers are reported as gaps (wall-clock ns).
- Every segment must share the first one's codec parameters (`init_key`); the clip stops before
  the first segment that does not, and says where.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from vigil.core.timebase import ns_to_ticks, ticks_to_ns

MIN_GAP_NS = 1_000_000  # uncovered stretches shorter than 1 ms are rounding, not gaps


@dataclass(frozen=True)
class SourceFragment:
    decode_start_90k: int  # tfdt, relative to its segment's start
    sample_durations_90k: tuple[int, ...]
    starts_with_sync: bool
    # A whole segment summarized as one unit (its fragments are not read): it holds this many
    # frames, sample_durations_90k is its one total duration, and it is never cut.
    whole_frames: int | None = None

    @property
    def duration_90k(self) -> int:
        return sum(self.sample_durations_90k)


@dataclass(frozen=True)
class SourceSegment:
    start_wall_ns: int
    fragments: tuple[SourceFragment, ...]
    init_key: Hashable  # equal keys: the same codec parameters (sample entry)


@dataclass(frozen=True)
class PlacedFragment:
    segment_pos: int  # index into the segments given
    fragment_pos: int  # index into that segment's fragments
    clip_decode_start_90k: int
    samples_kept: int  # the first N samples (all of them except in the clip's last fragment)
    duration_90k: int  # of the kept samples
    frames: int  # samples_kept, or a summarized whole segment's frame count


@dataclass(frozen=True)
class Timeline:
    fragments: tuple[PlacedFragment, ...]
    first_wall_ns: int  # wall time of the clip's first frame (clip time 0)
    end_wall_ns: int  # wall time just after the clip's last frame
    duration_90k: int  # clip time just after the last frame (gaps included)
    gaps: tuple[tuple[int, int], ...]  # uncovered [start_ns, end_ns) inside the request
    stopped_at_wall_ns: int | None  # codec parameters change here: the clip ends before it

    @property
    def frame_count(self) -> int:
        return sum(f.frames for f in self.fragments)


def _wall_start(segment: SourceSegment, fragment: SourceFragment) -> int:
    return segment.start_wall_ns + ticks_to_ns(fragment.decode_start_90k)


def _first_fragment(segments: Sequence[SourceSegment], start_ns: int) -> tuple[int, int] | None:
    """(segment, fragment) the clip starts with: the sync fragment at or before start, else after it."""
    for s, seg in enumerate(segments):
        for f, frag in enumerate(seg.fragments):
            if _wall_start(seg, frag) + ticks_to_ns(frag.duration_90k) <= start_ns:
                continue
            if _wall_start(seg, frag) <= start_ns:  # straddles start: back to its keyframe
                back = f
                while back > 0 and not seg.fragments[back].starts_with_sync:
                    back -= 1
                if seg.fragments[back].starts_with_sync:
                    return s, back
            for s2 in range(s, len(segments)):  # after start (or no keyframe before it): the next one
                for f2 in range(f if s2 == s else 0, len(segments[s2].fragments)):
                    if segments[s2].fragments[f2].starts_with_sync:
                        return s2, f2
            return None
    return None


def _kept_samples(fragment: SourceFragment, wall_start_ns: int, end_ns: int) -> int:
    """How many of the fragment's samples decode before end_ns (at least one)."""
    elapsed_90k, kept = 0, 0
    for d in fragment.sample_durations_90k:
        if wall_start_ns + ticks_to_ns(elapsed_90k) >= end_ns:
            break
        kept += 1
        elapsed_90k += d
    return max(kept, 1)


def _uncovered(covered: list[tuple[int, int]], start_ns: int, end_ns: int) -> tuple[tuple[int, int], ...]:
    gaps, cursor = [], start_ns
    for a, b in sorted(covered):
        if a - cursor >= MIN_GAP_NS and a > start_ns:
            gaps.append((cursor, min(a, end_ns)))
        cursor = max(cursor, b)
        if cursor >= end_ns:
            break
    if end_ns - cursor >= MIN_GAP_NS:
        gaps.append((cursor, end_ns))
    return tuple(g for g in gaps if g[1] > g[0])


def place(segments: Sequence[SourceSegment], start_ns: int, end_ns: int) -> Timeline | None:
    """The clip of [start_ns, end_ns) from segments (ordered by start), or None if nothing is recorded."""
    first = _first_fragment(segments, start_ns)
    if first is None:
        return None
    s0, f0 = first
    seg0 = segments[s0]
    first_wall = _wall_start(seg0, seg0.fragments[f0])
    if first_wall >= end_ns:
        return None
    placed: list[PlacedFragment] = []
    covered: list[tuple[int, int]] = []
    stopped_at: int | None = None
    clip_end_90k = 0
    done = False
    for s in range(s0, len(segments)):
        seg = segments[s]
        if seg.start_wall_ns >= end_ns:
            break
        if seg.init_key != seg0.init_key:
            stopped_at = seg.start_wall_ns
            break
        # One offset per segment: file decode time + offset = clip decode time (never backwards).
        offset = ns_to_ticks(seg.start_wall_ns - first_wall)
        for f in range(f0 if s == s0 else 0, len(seg.fragments)):
            frag = seg.fragments[f]
            wall = _wall_start(seg, frag)
            if wall >= end_ns:
                done = True
                break
            if not placed or f == (f0 if s == s0 else 0):  # segment start: clamp an overlap
                offset = max(offset, clip_end_90k - frag.decode_start_90k)
            whole = frag.whole_frames is not None
            kept = len(frag.sample_durations_90k) if whole else _kept_samples(frag, wall, end_ns)
            duration = sum(frag.sample_durations_90k[:kept])
            clip_start = offset + frag.decode_start_90k
            placed.append(PlacedFragment(s, f, clip_start, kept, duration,
                                         kept if frag.whole_frames is None else frag.whole_frames))
            clip_end_90k = clip_start + duration
            covered.append((wall, wall + ticks_to_ns(duration)))
            if kept < len(frag.sample_durations_90k):
                done = True
                break
        if done:
            break
    last_end_wall = max(b for _, b in covered)
    gaps = _uncovered(covered, start_ns, min(end_ns, stopped_at) if stopped_at is not None else end_ns)
    return Timeline(tuple(placed), first_wall, last_end_wall, clip_end_90k, gaps, stopped_at)
