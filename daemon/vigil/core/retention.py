"""Retention planning: which recorded segments to delete, and why.

Pure: the caller gathers segments, holds, policy and disk state, and applies the plan. Rules:
- a segment overlapping an active evidence hold on its camera is never deleted;
- unheld segments older than the age limit (`retain_days`) are deleted, the newest too: an age
  limit is a choice, not a budget;
- then the oldest unheld segments go until the recordings fit `max_bytes` and the disk keeps
  `min_free_bytes` free plus the bytes expected before the next planning round;
- but the budget (`max_bytes`, `min_free_bytes`) never deletes a camera's newest footage: the
  segments ending within `keep_newest_s` (10 minutes) of that camera's newest end. A budget
  that can only be met by deleting them is impossible (e.g. `min_free_bytes` larger than the
  disk); the plan keeps them and says so (`kept_newest_bytes`), and the storage report, health
  and the log say so loudly (core/storage_report.py), instead of retention silently deleting
  each segment seconds after it was written;
- only the disk itself may take them: when it has less free than the bytes expected before the
  next rounds (recording would hit ENOSPC), the oldest of them go (unheld, oldest first), as
  few as make that room, and the plan counts them (`newest_deleted`);
- if held footage alone prevents all this, the plan says how many bytes are missing
  (`shortfall_bytes`): the recorders then pause with reason disk_full (core/write_failure.py).
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


KEEP_NEWEST_S = 600.0


@dataclass(frozen=True)
class RetentionPolicy:
    max_bytes: int | None
    retain_days: float | None
    min_free_bytes: int
    keep_newest_s: float = KEEP_NEWEST_S  # each camera's newest footage the budget never deletes

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
    # Newest footage (keep_newest_s per camera) the budget wanted gone but that was kept: the budget is impossible.
    kept_newest_bytes: int = 0
    # Segments of that newest footage deleted anyway because the disk itself had no room left.
    newest_deleted: int = 0


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
    newest = _newest(all_segments, round(policy.keep_newest_s * NS_PER_SECOND))
    for s in candidates:
        if freed >= needed:
            break
        if s.id not in chosen and s.id not in newest:
            delete.append(s.id)
            chosen.add(s.id)
            freed += s.size_bytes
    kept_newest = 0
    newest_deleted = 0
    if freed < needed:  # the budget is impossible without the newest footage
        room_needed = disk.incoming_bytes - disk.free_bytes  # what the disk itself lacks
        for s in candidates:
            if s.id in chosen or s.id not in newest:
                continue
            if freed < room_needed:
                delete.append(s.id)
                chosen.add(s.id)
                freed += s.size_bytes
                newest_deleted += 1
            elif freed + kept_newest < needed:
                kept_newest += s.size_bytes
    return RetentionPlan(
        delete_ids=tuple(delete),
        freed_bytes=freed,
        expired_count=expired,
        held_bytes=held_bytes,
        total_bytes=total_bytes,
        shortfall_bytes=max(needed - freed - kept_newest, 0),
        kept_newest_bytes=kept_newest,
        newest_deleted=newest_deleted,
    )


def _newest(segments: Sequence[SegmentUsage], keep_newest_ns: int) -> set[int]:
    """Ids of each camera's segments ending within `keep_newest_ns` of that camera's newest end."""
    if keep_newest_ns <= 0:
        return set()
    newest_end: dict[str, int] = {}
    for s in segments:
        newest_end[s.camera_id] = max(newest_end.get(s.camera_id, s.end_wall_ns), s.end_wall_ns)
    return {s.id for s in segments if s.end_wall_ns > newest_end[s.camera_id] - keep_newest_ns}
