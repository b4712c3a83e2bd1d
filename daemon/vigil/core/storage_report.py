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
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from vigil.core.retention import Hold, RetentionPolicy, SegmentUsage

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
    recorded_bytes: int  # every camera's, also those not shown
    held_bytes: int
    budget_bytes: int
    max_bytes: int | None
    min_free_bytes: int
    retain_days: float | None
    warning: StorageWarning


def budget_bytes(policy: RetentionPolicy, recorded_bytes: int, free_bytes: int) -> int:
    room = max(recorded_bytes + free_bytes - policy.min_free_bytes, 0)
    return room if policy.max_bytes is None else min(policy.max_bytes, room)


def judge(held_bytes: int, budget: int, free_bytes: int, min_free_bytes: int,
          capacity_bytes: int | None = None) -> StorageWarning:
    """`capacity_bytes`: the disk's size, when known (a disk is full below DISK_FULL_BYTES free,
    or 1 % of a smaller disk)."""
    mib = 1 << 20
    if capacity_bytes is not None and free_bytes < min(DISK_FULL_BYTES, capacity_bytes // 100):
        return StorageWarning(Level.CRITICAL, f"DISK FULL: {free_bytes // 1024} KiB free on the recording disk;"
                                              " cameras pause (reason disk_full) until there is room again: release"
                                              " evidence holds or free space", held_bytes / budget if budget else None)
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
    if free_bytes < min_free_bytes:
        return StorageWarning(Level.WARNING, f"only {free_bytes // mib} MiB free, less than min_free_bytes"
                                      f" ({min_free_bytes // mib} MiB); is something else filling the disk?", fraction)
    return StorageWarning(Level.OK, held, fraction)


def storage_report(disks: Sequence[DiskUsage], segments: Iterable[SegmentUsage], holds: Sequence[Hold],
                   policy: RetentionPolicy, now_ns: int, visible_cameras: Collection[str] | None = None
                   ) -> StorageReport:
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
        warning=judge(held, budget, free, policy.min_free_bytes, sum(d.capacity_bytes for d in disks)),
    )
