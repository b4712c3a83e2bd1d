"""The export worker: one thread, one export at a time, a bounded queue. Progress and outcome go
to the index (so `GET /api/exports/{id}` sees them) and the outcome to the audit chain, in the
same transaction as the outcome. `submit` (services/exports.py calls it on a database thread)
writes the export, the holds on its originals and their audit entries in ONE transaction."""

from __future__ import annotations

import logging
import queue
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vigil.config import Config
from vigil.core.errors import DiskFullError, IndexBusyError, NotFoundError, TooManyRequestsError, VigilError
from vigil.core.export_request import ExportRequest, require_complete_footage
from vigil.core.index_wait import RetryState
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.exports.package import ClipSource, Documents, PackageWriter, check_space, exports_dir, plan_export
from vigil.exports.signing import ensure_signing_key
from vigil.services.caller import Caller
from vigil.services.holds import insert_holds_in
from vigil.store.audit_log import append_in
from vigil.store.exports import ExportRow, ExportStore, Progress, fail_in, finish_in, insert_export
from vigil.store.holds import NewHold
from vigil.store.index import Index

log = logging.getLogger(__name__)

MAX_QUEUED = 8
POLL_S = 0.5

# An incident report's documents (exports/incident_report.py): the export's row and the time -> what
# the package carries besides video. Blocking (the worker thread's).
DocumentSource = Callable[[ExportRow, int], Documents]
# More to write in the transaction that queues an export (its id given): an incident's report link.
AlsoIn = Callable[[sqlite3.Connection, int], None]


class ExportJobs:
    """`run` (the worker thread) first loads the signing key, making it on the first start: that
    fsync waits on the worker, not on the recorders' start."""

    def __init__(self, config: Config, index: Index, key_path: Path, clips: ClipSource | None = None,
                 documents: DocumentSource | None = None) -> None:
        self.config, self.index, self.key_path, self.clips = config, index, key_path, clips
        self.documents = documents
        self.key: Ed25519PrivateKey | None = None
        self.store = ExportStore(index)
        self.stop_event = threading.Event()
        self._queue: queue.Queue[int] = queue.Queue(MAX_QUEUED)
        self._submit_lock = threading.Lock()
        try:
            for row in self.store.unfinished():  # a previous run stopped mid-export: its package was never made
                self.store.fail(row.id, "interrupted: the appliance stopped before the export finished",
                                time.time_ns())
        except DiskFullError as error:  # start anyway; the next start marks them
            log.error("exports: cannot mark interrupted exports failed: %s", error)

    def submit(self, request: ExportRequest, caller: Caller, *, incident_id: int | None = None,
               also_in: AlsoIn | None = None) -> int:
        """Queue an export for the caller (checked for space first); returns its id. A range
        reaching into a segment still being written is refused with the time it can be exported
        (NotReadyError). The caller's permission on each camera is checked before (services/exports.py).
        An incident's report (`incident_id`) carries its documents even with no video (no camera
        chosen, or nothing recorded); `also_in` writes more in the same transaction."""
        now_wall_ns = caller.now_ns
        plan = plan_export(self.config, self.index, request.cameras, request.start_wall_ns, request.end_wall_ns)
        if incident_id is None and not plan.segment_count and not plan.open_segment_starts:
            raise NotFoundError("nothing was recorded by these cameras in this range")
        require_complete_footage(request, plan.open_segment_starts,
                                 round(self.config.storage.segment_duration_s * NS_PER_SECOND), now_wall_ns)
        check_space(exports_dir(self.config), plan.estimated_bytes(self.clips is not None),
                    self.config.storage.min_free_bytes)
        with self._submit_lock:
            if self._queue.full():
                raise TooManyRequestsError(f"{MAX_QUEUED} exports are already waiting; try again when one is done")
            with self.index.transaction() as c:
                export_id = insert_export(c, request, caller.actor, now_wall_ns, incident_id)
                self._hold_originals_in(c, export_id, request, caller)
                if also_in is not None:
                    also_in(c, export_id)
                detail = {"cameras": list(request.cameras), "start": wall_ns_to_iso(request.start_wall_ns),
                          "end": wall_ns_to_iso(request.end_wall_ns), "start_ns": request.start_wall_ns,
                          "end_ns": request.end_wall_ns, "reason": request.reason, "case_id": request.case_id}
                if incident_id is not None:
                    detail["incident"] = incident_id
                append_in(c, now_wall_ns, caller.actor, "export.create", f"export:{export_id}", "ok",
                          caller.audit_detail(detail))
            self._queue.put_nowait(export_id)
        log.info("export %d queued by %s: %d segments, %d bytes", export_id, caller.actor, plan.segment_count,
                 plan.segment_bytes)
        return export_id

    @staticmethod
    def _hold_originals_in(c: sqlite3.Connection, export_id: int, request: ExportRequest, caller: Caller) -> None:
        """Exported footage is evidence: hold the recorded originals (indefinitely, until someone
        allowed to release holds does), so retention neither breaks a running export nor deletes
        what a package's segment hashes point back to."""
        reason = f"export {export_id}: {request.reason}"
        insert_holds_in(c, caller, [NewHold(camera_id, request.start_wall_ns, request.end_wall_ns, reason, caller.actor,
                                            case_id=request.case_id) for camera_id in request.cameras],
                        {"export": export_id})

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        """Thread body. A full disk fails the export at hand (or leaves it for the next start to
        mark failed, when even that cannot be written), never the worker or the daemon."""
        try:
            self.key = ensure_signing_key(self.key_path)
        except OSError as error:  # made on the first start; a full disk then: tried again per export
            log.error("exports: cannot make the signing key %s (%s)", self.key_path, error)
        while not self.stop_event.is_set():
            try:
                export_id = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                continue
            try:
                self._run_until_stored(export_id)
            except DiskFullError as error:
                log.error("export %d: its outcome cannot be recorded: %s", export_id, error)
        try:
            while not self._queue.empty():
                self.store.fail(self._queue.get_nowait(), "interrupted: the appliance stopped before the export ran",
                                time.time_ns())
        except (IndexBusyError, DiskFullError) as busy:  # left 'queued': the next start marks them interrupted
            log.warning("exports: %s; queued exports are marked interrupted at the next start", busy)

    def _run_until_stored(self, export_id: int) -> None:
        """Run one export; while the index is busy, try it again with backoff (until stopped)."""
        retry = RetryState()
        while not self.stop_event.is_set():
            try:
                self._run_one(export_id)
                return
            except IndexBusyError as busy:
                retry = retry.after_busy(self.index.wait, time.monotonic(), random.random())
                log.warning("export %d: %s; trying again", export_id, busy)
                self.stop_event.wait(max(0.0, retry.due_s - time.monotonic()))

    def _run_one(self, export_id: int) -> None:
        row = self.store.get(export_id)
        request = row.request
        try:
            plan = plan_export(self.config, self.index, request.cameras, request.start_wall_ns, request.end_wall_ns)
            estimate = plan.estimated_bytes(self.clips is not None)
            self.store.start(export_id, Progress(plan.segment_count, 0, estimate, 0))
            if self.key is None:
                self.key = ensure_signing_key(self.key_path)
            writer = PackageWriter(self.config, self.index, self.key, self.clips, self.stop_event,
                                   lambda p: self.store.progress(export_id, p))
            now = time.time_ns()
            documents = None
            if row.incident_id is not None:
                if self.documents is None:
                    raise VigilError("incident reports are not available here (no document source)")
                documents = self.documents(row, now)
            name, size, manifest_sha256 = writer.write(row, plan, row.created_by, now, documents)
        except Exception as error:  # one export's failure must not stop the worker (nor, with it, the daemon)
            if isinstance(error, IndexBusyError):  # not the export's fault: run it again later
                raise
            if isinstance(error, VigilError):
                message = str(error)
            elif isinstance(error, OSError):
                message = f"cannot write the package: {error}"
            else:
                message = f"internal error: {error!r}"
                log.exception("export %d: unexpected error", export_id)
            log.warning("export %d failed: %s", export_id, message)
            with self.index.transaction() as c:  # the outcome and its audit entry together
                now = time.time_ns()
                fail_in(c, export_id, message, now)
                append_in(c, now, "system", "export.failed", f"export:{export_id}", "failed", {"error": message})
            return
        with self.index.transaction() as c:
            now = time.time_ns()
            finish_in(c, export_id, name, size, manifest_sha256, now)
            append_in(c, now, "system", "export.done", f"export:{export_id}", "ok",
                      {"manifest_sha256": manifest_sha256, "size_bytes": size, "segments": plan.segment_count})
        log.info("export %d done: %s, %d bytes, manifest SHA-256 %s", export_id, name, size, manifest_sha256)
