"""Evidence export jobs in the index: queued -> running -> done | failed, with progress.

The writes that are audited (creation, the outcome) take the open connection (`insert_export`,
`finish_in`, `fail_in`), so the export worker commits each with its audit entry in one
transaction; `ExportStore` wraps them, and the progress updates, in transactions of their own."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from vigil.core.errors import NotFoundError
from vigil.core.export_request import ExportRequest
from vigil.store.index import Index


@dataclass(frozen=True)
class ExportRow:
    id: int
    created_by: str
    created_wall_ns: int
    request: ExportRequest
    state: str
    segments_total: int
    segments_done: int
    bytes_total: int
    bytes_done: int
    error: str | None
    package_name: str | None
    package_size_bytes: int | None
    manifest_sha256: str | None
    finished_wall_ns: int | None
    incident_id: int | None = None  # the export is this incident's report


@dataclass(frozen=True)
class Progress:
    segments_total: int
    segments_done: int
    bytes_total: int
    bytes_done: int


def _row(r: sqlite3.Row) -> ExportRow:
    request = ExportRequest(tuple(json.loads(r["cameras"])), r["start_wall_ns"], r["end_wall_ns"], r["reason"],
                            r["case_id"])
    return ExportRow(r["id"], r["created_by"], r["created_wall_ns"], request, r["state"], r["segments_total"],
                     r["segments_done"], r["bytes_total"], r["bytes_done"], r["error"], r["package_name"],
                     r["package_size_bytes"], r["manifest_sha256"], r["finished_wall_ns"], r["incident_id"])


def insert_export(c: sqlite3.Connection, request: ExportRequest, created_by: str, now_wall_ns: int,
                  incident_id: int | None = None) -> int:
    """A queued export (an incident's report if `incident_id`), inside the caller's transaction."""
    cur = c.execute(
        "INSERT INTO exports (created_by, created_wall_ns, cameras, start_wall_ns, end_wall_ns, reason, case_id,"
        " state, incident_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
        (created_by, now_wall_ns, json.dumps(list(request.cameras)), request.start_wall_ns, request.end_wall_ns,
         request.reason, request.case_id, incident_id))
    return int(cur.lastrowid or 0)


def export_in(c: sqlite3.Connection, export_id: int) -> ExportRow:
    row = c.execute("SELECT * FROM exports WHERE id = ?", (export_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no export {export_id}")
    return _row(row)


def finish_in(c: sqlite3.Connection, export_id: int, package_name: str, size_bytes: int, manifest_sha256: str,
              now_wall_ns: int) -> None:
    c.execute("UPDATE exports SET state = 'done', package_name = ?, package_size_bytes = ?, manifest_sha256 = ?,"
              " finished_wall_ns = ?, bytes_done = bytes_total WHERE id = ?",
              (package_name, size_bytes, manifest_sha256, now_wall_ns, export_id))


def fail_in(c: sqlite3.Connection, export_id: int, error: str, now_wall_ns: int) -> None:
    c.execute("UPDATE exports SET state = 'failed', error = ?, finished_wall_ns = ? WHERE id = ?",
              (error, now_wall_ns, export_id))


class ExportStore:
    def __init__(self, index: Index) -> None:
        self.index = index

    def create(self, request: ExportRequest, created_by: str, now_wall_ns: int) -> int:
        """In a transaction of its own, unaudited (tests, tools): the worker's `submit` audits it."""
        with self.index.transaction() as c:
            return insert_export(c, request, created_by, now_wall_ns)

    def get(self, export_id: int) -> ExportRow:
        rows = self.index.query("SELECT * FROM exports WHERE id = ?", (export_id,))
        if not rows:
            raise NotFoundError(f"no export {export_id}")
        return _row(rows[0])

    def newest_first(self, state: str | None = None) -> list[ExportRow]:
        """Every export (in one state, or any), the newest first."""
        if state is None:
            return [_row(r) for r in self.index.query("SELECT * FROM exports ORDER BY id DESC")]
        return [_row(r) for r in self.index.query("SELECT * FROM exports WHERE state = ? ORDER BY id DESC", (state,))]

    def unfinished(self) -> list[ExportRow]:
        return [_row(r) for r in self.index.query(
            "SELECT * FROM exports WHERE state IN ('queued', 'running') ORDER BY id")]

    def start(self, export_id: int, progress: Progress) -> None:
        self._set(export_id, "state = 'running', segments_total = ?, segments_done = ?, bytes_total = ?,"
                             " bytes_done = ?", (progress.segments_total, progress.segments_done,
                                                 progress.bytes_total, progress.bytes_done))

    def progress(self, export_id: int, progress: Progress) -> None:
        self._set(export_id, "segments_total = ?, segments_done = ?, bytes_total = ?, bytes_done = ?",
                  (progress.segments_total, progress.segments_done, progress.bytes_total, progress.bytes_done))

    def finish(self, export_id: int, package_name: str, size_bytes: int, manifest_sha256: str,
               now_wall_ns: int) -> None:
        with self.index.transaction() as c:
            finish_in(c, export_id, package_name, size_bytes, manifest_sha256, now_wall_ns)

    def fail(self, export_id: int, error: str, now_wall_ns: int) -> None:
        with self.index.transaction() as c:
            fail_in(c, export_id, error, now_wall_ns)

    def _set(self, export_id: int, assignments: str, params: tuple[object, ...]) -> None:
        with self.index.transaction() as c:
            c.execute(f"UPDATE exports SET {assignments} WHERE id = ?", (*params, export_id))  # noqa: S608

    def appliance_id(self) -> str:
        """The index's uuid: it names this appliance's recordings for as long as they exist."""
        return str(self.index.query("SELECT db_uuid FROM meta")[0][0])
