"""The storage report: what the recordings use, how much of it evidence holds pin, and a warning
long before held footage alone could fill the disk. Pure: the caller measures disks and reads
the index.

The **retention budget** is the most the recordings may occupy: `max_bytes` if set, and never
more than what the disk can give them (recorded bytes + free bytes - `min_free_bytes`).
Retention can always make room by deleting unheld footage, until held footage fills the budget;
then recording has nowhere to go. So the warning level follows the held share of the budget:

| held / budget          | level    |
|------------------------|----------|
| < 50 %                 | ok       |
| 50 % to < 80 %         | warning  |
| >= 80 %, or no budget  | critical |

A disk with less free space than `min_free_bytes` is at least a warning too (something other
than recordings, or a budget set too large, is filling it). A disk with less than
`DISK_FULL_BYTES` free is critical whatever holds it: it is full, and recorders pause
(core/write_failure.py) until there is room.

A **budget that cannot hold footage** is critical too, and named by its key (`budget_problems`):
`min_free_bytes` not less than the disk (impossible: `vigil check` refuses it), or a retention
round that had to keep each camera's newest minutes over the budget. Estimated at ~4 Mb/s per
camera, and so only warnings: `max_bytes` smaller than two segments of every camera, or a budget
smaller than each camera's newest `keep_newest_s` (retention keeps those minutes anyway).

A caller who may see only some cameras (core.figure_scope) gets `for_caller(report)`: those
cameras, their sums as the totals, the warning's level with a message free of figures, and no
disks, budget or size settings (they describe the whole appliance and every building's footage).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from vigil.core.retention import ASSUMED_CAMERA_BYTES_PER_S, Hold, RetentionPolicy, SegmentUsage

WARNING_HELD_FRACTION = 0.5
DISK_FULL_BYTES = 1 << 20  # less free than this: writes fail (a fragment is ~0.2 MiB at 1.5 Mb/s)
CRITICAL_HELD_FRACTION = 0.8


class Level(enum.Enum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class DiskUsage:
    path: str
    capacity_bytes: int
    free_bytes: int  # available to vigil (statvfs f_bavail)

    @property
    def used_bytes(self) -> int:
        return max(self.capacity_bytes - self.free_bytes, 0)


@dataclass(frozen=True)
class CameraUsage:
    camera_id: str
    recorded_bytes: int
    held_bytes: int
    segment_count: int
    oldest_wall_ns: int | None
    newest_wall_ns: int | None


@dataclass(frozen=True)
class StorageWarning:
    level: Level
    message: str
    held_fraction: float | None  # held bytes / budget (None: no budget at all)


@dataclass(frozen=True)
class StorageReport:
    disks: tuple[DiskUsage, ...]
    cameras: tuple[CameraUsage, ...]
    recorded_bytes: int  # every camera's, also those not shown (for_caller: the shown ones' sum)
    held_bytes: int
    budget_bytes: int | None  # None: not shown to this caller (for_caller)
    max_bytes: int | None
    min_free_bytes: int | None
    retain_days: float | None
    warning: StorageWarning


@dataclass(frozen=True)
class BudgetProblem:
    key: str  # the configuration key to change, e.g. "storage.min_free_bytes"
    impossible: bool  # no footage fits at all (else: less than each camera's newest minutes)
    message: str


def budget_problems(capacity_bytes: int, policy: RetentionPolicy, cameras: int, segment_duration_s: float,
                    camera_bytes_per_s: int = ASSUMED_CAMERA_BYTES_PER_S) -> tuple[BudgetProblem, ...]:
    """What is wrong with a storage budget on a disk of `capacity_bytes` for `cameras` cameras."""
    mib = 1 << 20
    cameras = max(cameras, 1)
    keep = f"retention keeps each camera's newest {policy.keep_newest_s / 60:g} minutes anyway, over the budget"
    out = []
    if policy.min_free_bytes >= capacity_bytes:
        out.append(BudgetProblem("storage.min_free_bytes", True, (
            f"storage.min_free_bytes ({policy.min_free_bytes // mib} MiB) is not less than the recording disk"
            f" ({capacity_bytes // mib} MiB): the retention budget cannot hold any footage; {keep}")))
    two_segments = int(2 * cameras * segment_duration_s * camera_bytes_per_s)
    if policy.max_bytes is not None and policy.max_bytes < two_segments:  # estimated: a warning
        out.append(BudgetProblem("storage.max_bytes", False, (
            f"storage.max_bytes ({policy.max_bytes // mib} MiB) cannot hold two {segment_duration_s:g} s segments"
            f" of each of {cameras} cameras (~{two_segments // mib} MiB at 4 Mb/s); {keep}")))
    if out:
        return tuple(out)
    room = capacity_bytes - policy.min_free_bytes
    budget = room if policy.max_bytes is None else min(policy.max_bytes, room)
    newest = int(cameras * policy.keep_newest_s * camera_bytes_per_s)
    if budget < newest:
        key = "storage.max_bytes" if policy.max_bytes is not None and policy.max_bytes <= room \
            else "storage.min_free_bytes"
        out.append(BudgetProblem(key, False, (
            f"the retention budget ({budget // mib} MiB, set by {key}) is less than each camera's newest"
            f" {policy.keep_newest_s / 60:g} minutes ({newest // mib} MiB for {cameras} cameras at ~4 Mb/s);"
            f" {keep}")))
    return tuple(out)


def kept_newest_problem(kept_newest_bytes: int, policy: RetentionPolicy) -> BudgetProblem:
    """What a retention round that kept newest footage over the budget (core/retention.py) means."""
    key = "storage.max_bytes" if policy.max_bytes is not None else "storage.min_free_bytes"
    return BudgetProblem(key, True, (
        f"retention could meet storage.max_bytes/min_free_bytes only by deleting the cameras' newest"
        f" {policy.keep_newest_s / 60:g} minutes; it kept {kept_newest_bytes >> 20} MiB of them over the budget;"
        f" lower {key}"))


def worst(problems: Sequence[BudgetProblem]) -> BudgetProblem | None:
    return next((p for p in problems if p.impossible), problems[0] if problems else None)


def budget_bytes(policy: RetentionPolicy, recorded_bytes: int, free_bytes: int) -> int:
    room = max(recorded_bytes + free_bytes - policy.min_free_bytes, 0)
    return room if policy.max_bytes is None else min(policy.max_bytes, room)


def judge(held_bytes: int, budget: int, free_bytes: int, min_free_bytes: int,
          capacity_bytes: int | None = None, budget_problem: BudgetProblem | None = None) -> StorageWarning:
    """`capacity_bytes`: the disk's size, when known (a disk is full below DISK_FULL_BYTES free,
    or 1 % of a smaller disk). `budget_problem`: the worst of `budget_problems`, if any."""
    mib = 1 << 20
    if capacity_bytes is not None and free_bytes < min(DISK_FULL_BYTES, capacity_bytes // 100):
        return StorageWarning(Level.CRITICAL, f"DISK FULL: {free_bytes // 1024} KiB free on the recording disk;"
                                              " cameras pause (reason disk_full) until there is room again: release"
                                              " evidence holds or free space", held_bytes / budget if budget else None)
    if budget_problem is not None and budget_problem.impossible:
        return StorageWarning(Level.CRITICAL, f"STORAGE BUDGET IMPOSSIBLE: {budget_problem.message}",
                              held_bytes / budget if budget > 0 else None)
    if budget <= 0:
        return StorageWarning(Level.CRITICAL, "no room for recordings: the disk has less free space than"
                                              " min_free_bytes", None)
    fraction = held_bytes / budget
    held = f"evidence holds keep {held_bytes // mib} MiB, {fraction:.0%} of the {budget // mib} MiB retention budget"
    if fraction >= CRITICAL_HELD_FRACTION:
        return StorageWarning(Level.CRITICAL, f"{held}; release holds or add storage now: once held footage fills the"
                                       " budget, retention cannot make room for new recordings", fraction)
    if fraction >= WARNING_HELD_FRACTION:
        return StorageWarning(Level.WARNING, f"{held}; review the holds before they crowd out new recordings", fraction)
    if budget_problem is not None:
        return StorageWarning(Level.WARNING, f"STORAGE BUDGET TOO SMALL: {budget_problem.message}", fraction)
    if free_bytes < min_free_bytes:
        return StorageWarning(Level.WARNING, f"only {free_bytes // mib} MiB free, less than min_free_bytes"
                                      f" ({min_free_bytes // mib} MiB); is something else filling the disk?", fraction)
    return StorageWarning(Level.OK, held, fraction)


def storage_report(disks: Sequence[DiskUsage], segments: Iterable[SegmentUsage], holds: Sequence[Hold],
                   policy: RetentionPolicy, now_ns: int, visible_cameras: Collection[str] | None = None,
                   budget_problem: BudgetProblem | None = None) -> StorageReport:
    """`visible_cameras`: the cameras whose own figures may be shown (None: all); totals are
    always the whole appliance's, since the warning is about the shared disk."""
    per_camera: dict[str, list[int]] = {}  # camera -> [recorded, held, count, oldest, newest]
    recorded = held = 0
    for s in segments:
        is_held = any(h.covers(s, now_ns) for h in holds)
        recorded += s.size_bytes
        held += s.size_bytes if is_held else 0
        row = per_camera.setdefault(s.camera_id, [0, 0, 0, s.start_wall_ns, s.end_wall_ns])
        row[0] += s.size_bytes
        row[1] += s.size_bytes if is_held else 0
        row[2] += 1
        row[3] = min(row[3], s.start_wall_ns)
        row[4] = max(row[4], s.end_wall_ns)
    cameras = tuple(CameraUsage(cam, r[0], r[1], r[2], r[3], r[4]) for cam, r in sorted(per_camera.items())
                    if visible_cameras is None or cam in visible_cameras)
    if visible_cameras is not None:  # visible cameras with nothing recorded yet are listed too
        cameras = tuple(sorted([*cameras, *(CameraUsage(c, 0, 0, 0, None, None) for c in visible_cameras
                                            if c not in per_camera)], key=lambda c: c.camera_id))
    free = sum(d.free_bytes for d in disks)
    budget = budget_bytes(policy, recorded, free)
    return StorageReport(
        disks=tuple(disks), cameras=cameras, recorded_bytes=recorded, held_bytes=held, budget_bytes=budget,
        max_bytes=policy.max_bytes, min_free_bytes=policy.min_free_bytes, retain_days=policy.retain_days,
        warning=judge(held, budget, free, policy.min_free_bytes, sum(d.capacity_bytes for d in disks), budget_problem),
    )


_CALLER_MESSAGES = {
    Level.OK: "the appliance's storage is ok",
    Level.WARNING: "the appliance's storage needs attention soon; a district admin has the figures",
    Level.CRITICAL: "the appliance's storage needs attention now; a district admin has the figures",
}


def for_caller(report: StorageReport) -> StorageReport:
    """The report as a caller with `caller` scope sees it: `report.cameras` (already only the
    caller's) and their sums; the warning's level, not its figures; no disks, budget or sizes."""
    return replace(
        report, disks=(), recorded_bytes=sum(c.recorded_bytes for c in report.cameras),
        held_bytes=sum(c.held_bytes for c in report.cameras), budget_bytes=None, max_bytes=None, min_free_bytes=None,
        warning=StorageWarning(report.warning.level, _CALLER_MESSAGES[report.warning.level], None))
