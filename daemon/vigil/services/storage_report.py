"""The storage report (`GET /api/storage`, `vigil storage`): what the recordings use per camera,
how much of it evidence holds pin, the retention budget and the warning level, scoped to the
caller (core.figure_scope). The figures are core.storage_report's; the disk is measured by
record/storage_usage.py; the index is read on a database thread (a scan of every segment row)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.config import Config
from vigil.core.figure_scope import FigureScope, figures_scope
from vigil.core.storage_report import StorageReport, for_caller, storage_report, worst
from vigil.core.timebase import wall_ns_to_iso
from vigil.record.retention import policy_of
from vigil.record.storage_usage import recording_disk, storage_budget_problems
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.services.visibility import visible_cameras
from vigil.store.index import Index

__all__ = ["ScopedStorageReport", "read_storage_report", "report_json", "scoped_storage_report"]


@dataclass(frozen=True)
class ScopedStorageReport:
    scope: FigureScope  # appliance: every camera, the disk and the budget; caller: the caller's cameras only
    report: StorageReport


def read_storage_report(index: Index, config: Config, now_wall_ns: int, visible: list[str] | None = None
                        ) -> StorageReport:
    """The whole appliance's report, listing the `visible` cameras (None: every camera with
    recordings). Blocking (statvfs and a scan of every segment row): call it on a thread."""
    storage = config.storage
    return storage_report([recording_disk(config)], index.usage(), index.holds(), policy_of(storage), now_wall_ns,
                          visible, worst(storage_budget_problems(config)))


async def scoped_storage_report(env: ServiceEnv, caller: Caller) -> ScopedStorageReport:
    """The report as the caller may see it. The appliance's own callers (CLI, workers) see every
    camera that has recordings, configured or not; API callers the configured cameras they may see,
    and unless their scope is the appliance (core.figure_scope) only those cameras' figures."""
    if caller.is_appliance:
        scope, visible = FigureScope.APPLIANCE, None
    else:
        scope = figures_scope(caller.require_subject()).scope
        visible = [c.id for c in visible_cameras(env.config, caller)]
    report = await env.run(lambda: read_storage_report(env.index, env.config, caller.now_ns, visible))
    return ScopedStorageReport(scope, report if scope is FigureScope.APPLIANCE else for_caller(report))


def _iso(ns: int | None) -> str | None:
    return None if ns is None else wall_ns_to_iso(ns)


def report_json(scoped: ScopedStorageReport) -> dict[str, Any]:
    """The report's JSON form: the body of `GET /api/storage` and the output of `vigil storage --json`."""
    report = scoped.report
    return {
        "scope": scoped.scope.value,
        "disks": [{"path": d.path, "capacity_bytes": d.capacity_bytes, "used_bytes": d.used_bytes,
                   "free_bytes": d.free_bytes} for d in report.disks],
        "recorded_bytes": report.recorded_bytes, "held_bytes": report.held_bytes,
        "budget_bytes": report.budget_bytes, "max_bytes": report.max_bytes, "min_free_bytes": report.min_free_bytes,
        "retain_days": report.retain_days,
        "warning": {"level": report.warning.level.value, "message": report.warning.message,
                    "held_fraction": report.warning.held_fraction},
        "cameras": [{"id": c.camera_id, "recorded_bytes": c.recorded_bytes, "held_bytes": c.held_bytes,
                     "segments": c.segment_count, "oldest": _iso(c.oldest_wall_ns), "newest": _iso(c.newest_wall_ns)}
                    for c in report.cameras],
    }
