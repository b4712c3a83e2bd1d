"""The retention worker: every `retention_interval_s` it keeps the index's reserve, applies
retention (record/retention.py) and lets the storage warnings (record/storage_warnings.py) judge
the round. The daemon starts it as one of its parts (vigil.app)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from vigil.config import Config
from vigil.core.errors import DiskFullError, IndexBusyError
from vigil.core.hotplug import StorageState
from vigil.core.retention import incoming_bytes
from vigil.core.storage_report import BudgetProblem
from vigil.core.write_failure import WriteFailure
from vigil.record.recorder import Recorder
from vigil.record.reserve import SpaceReserve
from vigil.record.retention import enforce_retention, policy_of
from vigil.record.storage import StorageDir
from vigil.record.storage_usage import disk_usage, storage_budget_problems
from vigil.record.storage_warnings import StorageWarnings
from vigil.store.index import Index

log = logging.getLogger(__name__)


class RetentionWorker:
    """`recorders`: the cameras' recorders as of now (bytes written, paused on a full disk; a reload
    changes the set);
    `storage_state`: the recording disk's state (nothing to free on a missing or foreign disk)."""

    def __init__(self, config: Config, index: Index, storage: StorageDir, reserve: SpaceReserve,
                 recorders: Callable[[], Sequence[Recorder]], storage_state: Callable[[], StorageState],
                 problems: Sequence[BudgetProblem]) -> None:
        self.config, self.index, self.storage, self.reserve = config, index, storage, reserve
        self.recorders = recorders
        self.storage_state = storage_state
        self.policy = policy_of(config.storage)
        self.warnings = StorageWarnings(self.policy, storage, problems, reserve)
        self._shortfall_warned = False
        for problem in self.warnings.problems:  # also in `vigil check`, `vigil storage` and /api/health
            log.error("STORAGE BUDGET %s: %s", "IMPOSSIBLE" if problem.impossible else "TOO SMALL", problem.message)

    @classmethod
    async def create(cls, config: Config, index: Index, storage: StorageDir, reserve: SpaceReserve,
                     recorders: Callable[[], Sequence[Recorder]], storage_state: Callable[[], StorageState],
                     ) -> RetentionWorker:
        """The worker with the budget checked against the disk (statvfs, on a thread)."""
        problems = await asyncio.to_thread(storage_budget_problems, config)
        return cls(config, index, storage, reserve, recorders, storage_state, problems)

    def budget_problem(self) -> BudgetProblem | None:
        """What is wrong with the storage budget as of the last round (for /api/health)."""
        return self.warnings.budget_problem

    async def run(self) -> None:
        """Rounds until cancelled."""
        interval_s = self.config.storage.retention_interval_s
        last_written: int | None = None
        while True:
            if self.storage_state() is not StorageState.OK:
                await asyncio.sleep(interval_s)  # nothing to free on a missing or foreign disk
                continue
            await asyncio.to_thread(self._keep_reserve)
            recorders = self.recorders()
            written = sum(r.bytes_written for r in recorders)
            # a reload that removed a camera takes its bytes out of the sum: no negative rate
            since = None if last_written is None else max(0, written - last_written)
            incoming = incoming_bytes(since, len(recorders), interval_s)
            last_written = written
            try:
                result = await asyncio.to_thread(enforce_retention, self.index, self.storage, self.policy, incoming,
                                                 time.time_ns(), self.reserve)
            except (IndexBusyError, DiskFullError) as error:  # nothing deleted this round; the next one tries again
                log.warning("retention: %s; trying again in %.0f s", error, interval_s)
                await asyncio.sleep(interval_s)
                continue
            await asyncio.to_thread(self.warnings.observe, result)  # logs storage warning level changes (issue 7)
            if result.plan.shortfall_bytes and not self._shortfall_warned:
                self._shortfall_warned = True
                log.warning("retention: %d bytes could not be freed (evidence holds keep %d bytes, each camera's"
                            " newest minutes %d more)", result.plan.shortfall_bytes, result.plan.held_bytes,
                            result.plan.kept_newest_bytes)
            elif not result.plan.shortfall_bytes and self._shortfall_warned:
                self._shortfall_warned = False
                log.info("retention: storage budget met again")
            await asyncio.sleep(interval_s)

    def _keep_reserve(self) -> None:
        """Give the index's reserve up while a camera is paused on a full disk; else keep it (blocking)."""
        if any(r.paused_reason == WriteFailure.DISK_FULL.value for r in self.recorders()):
            self.reserve.give_up()
        else:
            self.reserve.ensure(disk_usage(self.config.storage.path).free_bytes)
