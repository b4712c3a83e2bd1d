"""Retention planning: which recorded segments to delete, and why.

Pure: the caller gathers segments, holds, policy and disk state, and applies the plan. Rules:
- a segment overlapping an active evidence hold on its camera is never deleted;
- unheld segments older than the age limit are deleted;
- then the oldest unheld segments go until the recordings fit `max_bytes` and the disk keeps
  `min_free_bytes` free plus the bytes expected before the next planning round;
- if held footage alone prevents that, the plan says how many bytes are missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vigil.core.timebase import NS_PER_SECOND


@dataclass(frozen=True)
class SegmentUsage:
    id: int
    camera_id: str
    start_wall_ns: int
    end_wall_ns: int
    size_bytes: int


@dataclass(frozen=True)
class Hold:
    camera_id: str | None  # None: every camera
    start_wall_ns: int
    end_wall_ns: int
    until_wall_ns: int | None  # None: until released

    def covers(self, segment: SegmentUsage, now_ns: int) -> bool:
        if self.until_wall_ns is not None and self.until_wall_ns <= now_ns:
            return False
        if self.camera_id is not None and self.camera_id != segment.camera_id:
            return False
        return segment.start_wall_ns < self.end_wall_ns and self.start_wall_ns < segment.end_wall_ns


@dataclass(frozen=True)
class RetentionPolicy:
    max_bytes: int | None
    retain_days: float | None
    min_free_bytes: int

    @property
    def retain_ns(self) -> int | None:
        return None if self.retain_days is None else round(self.retain_days * 86_400 * NS_PER_SECOND)


@dataclass(frozen=True)
class DiskState:
    free_bytes: int
    # Bytes the recorders will write before the next planning round.
    incoming_bytes: int


@dataclass(frozen=True)
class RetentionPlan:
    delete_ids: tuple[int, ...]
    freed_bytes: int
    expired_count: int
    held_bytes: int
    total_bytes: int
    # Bytes still needed after deleting every unheld segment that could go (0 when all is well).
    shortfall_bytes: int


ASSUMED_CAMERA_BYTES_PER_S = 500_000  # 4 Mb/s, until there is a measured rate
HEADROOM_ROUNDS = 3


def incoming_bytes(written_last_round: int | None, cameras: int, interval_s: float) -> int:
    """Bytes to keep free for the next rounds: three rounds at the last round's rate (or at 4 Mb/s
    per camera before anything was measured)."""
    per_round = written_last_round if written_last_round else cameras * ASSUMED_CAMERA_BYTES_PER_S * interval_s
    return int(per_round * HEADROOM_ROUNDS)


def plan_retention(
    segments: Iterable[SegmentUsage],
    holds: Sequence[Hold],
    policy: RetentionPolicy,
    disk: DiskState,
    now_ns: int,
) -> RetentionPlan:
    all_segments = sorted(segments, key=lambda s: (s.start_wall_ns, s.id))
    total_bytes = sum(s.size_bytes for s in all_segments)
    held_ids = {s.id for s in all_segments if any(h.covers(s, now_ns) for h in holds)}
    held_bytes = sum(s.size_bytes for s in all_segments if s.id in held_ids)
    candidates = [s for s in all_segments if s.id not in held_ids]

    delete: list[int] = []
    freed = 0
    retain_ns = policy.retain_ns
    expired = 0
    if retain_ns is not None:
        cutoff_ns = now_ns - retain_ns
        for s in candidates:
            if s.end_wall_ns <= cutoff_ns:
                delete.append(s.id)
                freed += s.size_bytes
                expired += 1

    over_budget = 0 if policy.max_bytes is None else total_bytes - policy.max_bytes
    short_of_free = policy.min_free_bytes + disk.incoming_bytes - disk.free_bytes
    needed = max(over_budget, short_of_free, 0)
    chosen = set(delete)
    for s in candidates:
        if freed >= needed:
            break
        if s.id not in chosen:
            delete.append(s.id)
            chosen.add(s.id)
            freed += s.size_bytes
    return RetentionPlan(
        delete_ids=tuple(delete),
        freed_bytes=freed,
        expired_count=expired,
        held_bytes=held_bytes,
        total_bytes=total_bytes,
        shortfall_bytes=max(needed - freed, 0),
    )
