"""Logging the storage warning level as retention rounds go by, so the journal says when held
footage starts to crowd the disk (the storage report says the same on demand)."""

from __future__ import annotations

import logging

from vigil.core.retention import RetentionPolicy
from vigil.core.storage_report import Level, StorageWarning, budget_bytes, judge
from vigil.record.retention import RetentionRound
from vigil.record.storage import StorageDir
from vigil.record.storage_usage import disk_usage

log = logging.getLogger(__name__)
_LOG_LEVEL = {Level.OK: logging.INFO, Level.WARNING: logging.WARNING, Level.CRITICAL: logging.ERROR}


class StorageWatch:
    def __init__(self, policy: RetentionPolicy, storage: StorageDir) -> None:
        self.policy, self.storage = policy, storage
        self.level = Level.OK

    def observe(self, done: RetentionRound) -> StorageWarning:
        """After a retention round (blocking: statvfs). Logs when the level changes."""
        disk = disk_usage(self.storage.path)
        free = disk.free_bytes
        plan = done.plan
        remaining = plan.total_bytes - plan.freed_bytes
        warning = judge(plan.held_bytes, budget_bytes(self.policy, remaining, free), free, self.policy.min_free_bytes,
                        disk.capacity_bytes)
        if warning.level is not self.level:
            log.log(_LOG_LEVEL[warning.level], "storage %s: %s", warning.level.value, warning.message)
            self.level = warning.level
        return warning
