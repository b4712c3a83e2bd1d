"""Applying the retention plan: the I/O around core.retention."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from vigil.config import StorageConfig
from vigil.core.retention import DiskState, RetentionPlan, RetentionPolicy, plan_retention
from vigil.record.recovery import collect_garbage
from vigil.record.reserve import SpaceReserve, recordings_free_bytes
from vigil.record.storage import StorageDir
from vigil.store.index import Index

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionRound:
    plan: RetentionPlan
    deleted: int


def free_bytes(storage: StorageDir) -> int:
    st = os.statvfs(storage.path)
    return st.f_bavail * st.f_frsize


def policy_of(config: StorageConfig) -> RetentionPolicy:
    return RetentionPolicy(max_bytes=config.max_bytes, retain_days=config.retain_days,
                           min_free_bytes=config.min_free_bytes, keep_newest_s=config.keep_newest_s)


def enforce_retention(index: Index, storage: StorageDir, policy: RetentionPolicy, incoming_bytes: int,
                      now_wall_ns: int, reserve: SpaceReserve | None = None) -> RetentionRound:
    """`reserve`: the index's (record/reserve.py); the room it misses is not the recordings'."""
    free = recordings_free_bytes(free_bytes(storage), storage.path, reserve)
    plan = plan_retention(index.usage(), index.holds(), policy,
                          DiskState(free_bytes=free, incoming_bytes=incoming_bytes), now_wall_ns)
    deleted = 0
    if plan.delete_ids:
        deleted = index.move_to_garbage(plan.delete_ids, now_wall_ns)
        collect_garbage(index, storage)
        log.info("retention: deleted %d segments (%d bytes, %d past retain_days)", deleted, plan.freed_bytes,
                 plan.expired_count)
    return RetentionRound(plan, deleted)
