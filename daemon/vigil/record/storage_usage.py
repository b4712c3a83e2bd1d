"""Measuring the recordings disk and reading the index for core.storage_report."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from vigil.config import StorageConfig
from vigil.core.storage_report import DiskUsage, StorageReport, storage_report
from vigil.record.index import Index
from vigil.record.retention import policy_of


def disk_usage(path: Path) -> DiskUsage:
    """The filesystem the directory is (or, before the first start, will be) on."""
    measured = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
    st = os.statvfs(measured)
    return DiskUsage(str(path), capacity_bytes=st.f_blocks * st.f_frsize, free_bytes=st.f_bavail * st.f_frsize)


def read_storage_report(index: Index, config: StorageConfig, now_wall_ns: int,
                        visible_cameras: Collection[str] | None = None) -> StorageReport:
    """Blocking (statvfs and a scan of every segment row): call it on a thread."""
    return storage_report([disk_usage(config.recordings_path)], index.usage(), index.holds(), policy_of(config),
                          now_wall_ns, visible_cameras)
