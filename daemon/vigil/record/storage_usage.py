"""Measuring the recordings disk: for the storage report (services/storage_report.py), the
storage warnings, the reserve and `vigil check` (the budget checked against the disk)."""

from __future__ import annotations

import os
from pathlib import Path

from vigil.config import Config
from vigil.core.storage_report import BudgetProblem, DiskUsage, budget_problems
from vigil.record.reserve import SpaceReserve, recordings_free_bytes
from vigil.record.retention import policy_of


def disk_usage(path: Path) -> DiskUsage:
    """The filesystem the directory is (or, before the first start, will be) on."""
    measured = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
    st = os.statvfs(measured)
    return DiskUsage(str(path), capacity_bytes=st.f_blocks * st.f_frsize, free_bytes=st.f_bavail * st.f_frsize)


def storage_budget_problems(config: Config) -> tuple[BudgetProblem, ...]:
    """The budget checked against the disk the recordings are (or will be) on (blocking: statvfs)."""
    cameras = sum(c.enabled for c in config.cameras)
    return budget_problems(disk_usage(config.storage.recordings_path).capacity_bytes, policy_of(config.storage),
                           cameras, config.storage.segment_duration_s)


def recording_disk(config: Config) -> DiskUsage:
    """The recording disk; while the index's reserve beside it is given up (a full disk), that
    room is the index's, not free for recordings (record/reserve.py)."""
    disk = disk_usage(config.storage.recordings_path)
    free = recordings_free_bytes(disk.free_bytes, config.storage.recordings_path, SpaceReserve(config.storage.path))
    return DiskUsage(disk.path, disk.capacity_bytes, max(free, 0))
