"""Logging the storage warning level as retention rounds go by, so the journal says when held
footage starts to crowd the disk (the storage report says the same on demand)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from vigil.core.retention import RetentionPolicy
from vigil.core.storage_report import (
    BudgetProblem,
    Level,
    StorageWarning,
    budget_bytes,
    judge,
    kept_newest_problem,
    worst,
)
from vigil.record.reserve import SpaceReserve, recordings_free_bytes
from vigil.record.retention import RetentionRound
from vigil.record.storage import StorageDir
from vigil.record.storage_usage import disk_usage

log = logging.getLogger(__name__)
_LOG_LEVEL = {Level.OK: logging.INFO, Level.WARNING: logging.WARNING, Level.CRITICAL: logging.ERROR}


class StorageWarnings:
    """`problems`: what is wrong with the configured budget on this disk (core.storage_report)."""

    def __init__(self, policy: RetentionPolicy, storage: StorageDir, problems: Sequence[BudgetProblem] = (),
                 reserve: SpaceReserve | None = None) -> None:
        self.policy, self.storage = policy, storage
        self.reserve = reserve  # the index's: the room it misses is not the recordings' (record/reserve.py)
        self.problems = tuple(problems)
        self.level = Level.OK
        self.warning: StorageWarning | None = None  # the last round's
        self.budget_problem: BudgetProblem | None = worst(self.problems)  # the last round's, for health

    def observe(self, done: RetentionRound) -> StorageWarning:
        """After a retention round (blocking: statvfs). Logs when the level changes."""
        disk = disk_usage(self.storage.path)
        free = recordings_free_bytes(disk.free_bytes, self.storage.path, self.reserve)
        plan = done.plan
        remaining = plan.total_bytes - plan.freed_bytes
        problem = worst(self.problems)
        if plan.kept_newest_bytes and (problem is None or not problem.impossible):
            problem = kept_newest_problem(plan.kept_newest_bytes, self.policy)
        if plan.newest_deleted:
            log.error("retention: the disk had no room left: deleted %d of the cameras' newest segments",
                      plan.newest_deleted)
        self.budget_problem = problem
        warning = judge(plan.held_bytes, budget_bytes(self.policy, remaining, free), free, self.policy.min_free_bytes,
                        disk.capacity_bytes, problem)
        self.warning = warning
        if warning.level is not self.level:
            log.log(_LOG_LEVEL[warning.level], "storage %s: %s", warning.level.value, warning.message)
            self.level = warning.level
        return warning
