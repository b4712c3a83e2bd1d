"""The SQLite index of runs, segments, camera events, garbage and evidence holds.

One `Index` holds the single writing connection; every write goes through its lock, so recorder
threads, ingest threads and the event loop can share it without a second writer. Reads use a
second connection with its own lock: in WAL mode they never wait for a writer, so a write waiting
for a busy index (ours or another process's) does not hold up the reads of the API.

Every call waits a bounded time for the index (our lock, then SQLite's busy timeout, set per
call): `core/index_wait.py` says how long for a call on the event loop and for other threads.
When another process holds the write lock longer, the call raises IndexBusyError."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vigil.core.errors import DiskFullError, IndexBusyError
from vigil.core.index_wait import IndexWaitPolicy
from vigil.core.retention import Hold, SegmentUsage
from vigil.core.write_failure import WriteFailure, classify_write_error
from vigil.store.db import MIGRATIONS, connect, is_busy, migrate
from vigil.store.rows import (
    EventRow,
    FinishedSegment,
    GarbageRow,
    NewBookmark,
    NewHold,
    NewSegment,
    SegmentRow,
    insert_bookmark,
    insert_hold,
    insert_open_segment,
    mark_complete,
    segment_row,
    where_clause,
)


def is_disk_full(error: sqlite3.Error) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL)."""
    code = getattr(error, "sqlite_errorcode", None)
    return classify_write_error(None, code) is WriteFailure.DISK_FULL


# True while an API request is served. asyncio.to_thread carries it into the worker thread, so
# what a request does off the loop (door-event storage) also gets the short budget of the loop.
SERVING_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("serving_request", default=False)


def _for_the_loop() -> bool:
    """Whether this call runs on the event loop, or off it for an API request."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return SERVING_REQUEST.get()
    return True


class Index:
    def __init__(self, conn: sqlite3.Connection, wait: IndexWaitPolicy | None = None,
                 read_conn: sqlite3.Connection | None = None) -> None:
        self.conn = conn
        self.wait = wait or IndexWaitPolicy()
        self._lock = threading.Lock()
        self._read_conn = read_conn or conn
        self._read_lock = threading.Lock() if read_conn is not None else self._lock
        self._busy_timeout_ms: dict[int, int] = {}  # id(connection) -> the busy timeout it has now
        self._busy_since_s: float | None = None  # monotonic; None once a call succeeded again
        self._next_ids: dict[str, int] = {}  # table -> next id the recorders may use (allocate_id)

    @classmethod
    def open(cls, path: Path, now_wall_ns: int, migrations: tuple[str, ...] = MIGRATIONS) -> Index:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # credentials' hashes and the audit log: owner only
            path.touch(mode=0o600)
        conn = connect(path)
        try:
            migrate(conn, now_wall_ns, migrations)
        except sqlite3.OperationalError as error:
            conn.close()
            if is_busy(error):
                raise IndexBusyError(f"{path}: the index is locked by another process ({error}); try again shortly",
                                     IndexWaitPolicy().retry_after_s) from None
            raise
        return cls(conn, read_conn=connect(path, readonly=True))

    @classmethod
    def open_readonly(cls, path: Path) -> Index:
        return cls(connect(path, readonly=True))

    def close(self) -> None:
        """The read connection first: SQLite checkpoints the WAL into the database and removes it
        only when the last connection closes, and only a writing one can (a clean stop leaves
        one file)."""
        with self._lock, self._read_lock if self._read_conn is not self.conn else contextlib.nullcontext():
            self._read_conn.close()
            self.conn.close()

    def _budget_s(self, wait_s: float | None) -> float:
        if wait_s is not None:
            return wait_s
        if _for_the_loop():
            return self.wait.loop_wait(time.monotonic(), self._busy_since_s)
        return self.wait.thread_wait_s

    def _busy(self, what: str) -> IndexBusyError:
        self._busy_since_s = time.monotonic()
        return IndexBusyError(f"the index is locked by another process ({what}); try again shortly",
                              self.wait.retry_after_s)

    @contextmanager
    def _holding(self, wait_s: float | None, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """The writing (or reading) connection under its lock, its busy timeout what is left of the
        caller's budget. SQLite's busy/locked errors inside become IndexBusyError."""
        conn, lock = (self.conn, self._lock) if write else (self._read_conn, self._read_lock)
        budget_s = self._budget_s(wait_s)
        deadline = time.monotonic() + budget_s
        if not lock.acquire(timeout=budget_s):
            raise self._busy("another index call of this appliance is waiting for it")
        try:
            timeout_ms = max(0, round((deadline - time.monotonic()) * 1000))
            if timeout_ms != self._busy_timeout_ms.get(id(conn)):
                conn.execute(f"PRAGMA busy_timeout = {timeout_ms}")
                self._busy_timeout_ms[id(conn)] = timeout_ms
            try:
                yield conn
            except sqlite3.OperationalError as error:
                if is_busy(error):
                    raise self._busy(str(error)) from None
                raise
            if write:
                self._busy_since_s = None
        finally:
            lock.release()

    @contextmanager
    def transaction(self, wait_s: float | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, waiting at most `wait_s` (None: the caller's default budget).

        A full disk raises DiskFullError (HTTP 503) and leaves no transaction open: SQLite keeps a
        transaction whose COMMIT failed with SQLITE_FULL active, and every later BEGIN would fail."""
        with self._holding(wait_s) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as error:
                if is_disk_full(error):
                    raise DiskFullError(f"the disk of the index is full ({error}); release evidence holds or"
                                        " free space: changes are refused until then") from error
                raise

    def query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._holding(None, write=False) as conn:
            return list(conn.execute(sql, params).fetchall())

    def allocate_id(self, table: str) -> int:
        """The next id of `runs` or `segments` for a row a recorder will insert later (its write is
        queued while the index is busy; store/pending_writes.py). Only this process inserts runs and
        segments, and startup recovery inserts before recorders start, so MAX(id) + 1 is free."""
        assert table in ("runs", "segments")
        with self._holding(None, write=False) as conn:
            stored = int(conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0])  # noqa: S608
            self._next_ids[table] = max(self._next_ids.get(table, 0), stored) + 1
            return self._next_ids[table]

    # --- runs and segments -------------------------------------------------------------------

    def start_run(self, camera_id: str, stream: str, start_wall_ns: int, codec: str) -> int:
        run_id = self.allocate_id("runs")
        with self.transaction() as c:
            c.execute("INSERT INTO runs (id, camera_id, stream, start_wall_ns, codec) VALUES (?, ?, ?, ?, ?)",
                      (run_id, camera_id, stream, start_wall_ns, codec))
        return run_id

    def end_run(self, run_id: int, end_wall_ns: int, reason: str) -> None:
        with self.transaction() as c:
            c.execute("UPDATE runs SET end_wall_ns = ?, end_reason = ? WHERE id = ? AND end_wall_ns IS NULL",
                      (end_wall_ns, reason, run_id))

    def open_segment(self, new: NewSegment) -> int:
        segment_id = self.allocate_id("segments")
        with self.transaction() as c:
            insert_open_segment(c, segment_id, new)
        return segment_id

    def complete_segment(self, segment_id: int, done: FinishedSegment) -> None:
        with self.transaction() as c:
            mark_complete(c, segment_id, done)

    def discard_segment(self, segment_id: int) -> None:
        """Remove the reservation of a segment that got no complete fragment (its file is gone)."""
        with self.transaction() as c:
            c.execute("DELETE FROM segments WHERE id = ? AND state = 'open'", (segment_id,))

    def segments(
        self,
        camera_id: str | None = None,
        start_wall_ns: int | None = None,
        end_wall_ns: int | None = None,
        *,
        state: str | None = "complete",
    ) -> list[SegmentRow]:
        """Segments overlapping [start, end), oldest first. A segment still being written (no end
        yet) overlaps every range that ends after its start: it holds footage up to now."""
        where, params = where_clause({
            "camera_id = ?": camera_id,
            "state = ?": state,
            "start_wall_ns < ?": end_wall_ns,
            "(end_wall_ns IS NULL OR end_wall_ns > ?)": start_wall_ns,
        })
        rows = self.query(f"SELECT * FROM segments {where} ORDER BY start_wall_ns, id", params)  # noqa: S608
        return [segment_row(r) for r in rows]

    def segment_paths(self, dir_id: int) -> set[str]:
        return {str(r[0]) for r in self.query("SELECT path FROM segments WHERE dir_id = ?", (dir_id,))}

    # --- events ------------------------------------------------------------------------------

    def add_event(self, camera_id: str | None, kind: str, wall_ns: int, reason: str | None = None,
                  detail: str | None = None) -> int:
        with self.transaction() as c:
            cur = c.execute("INSERT INTO events (camera_id, kind, wall_ns, reason, detail) VALUES (?, ?, ?, ?, ?)",
                            (camera_id, kind, wall_ns, reason, detail))
            return int(cur.lastrowid or 0)

    def events(self, camera_id: str | None = None, kind: str | None = None) -> list[EventRow]:
        where, params = where_clause({"camera_id = ?": camera_id, "kind = ?": kind})
        rows = self.query(f"SELECT * FROM events {where} ORDER BY wall_ns, id", params)  # noqa: S608
        return [EventRow(**dict(r)) for r in rows]

    # --- retention and garbage ---------------------------------------------------------------

    def usage(self) -> list[SegmentUsage]:
        rows = self.query("SELECT id, camera_id, start_wall_ns, end_wall_ns, size_bytes FROM segments"
                           " WHERE state = 'complete'")
        return [SegmentUsage(**dict(r)) for r in rows]

    def holds(self) -> list[Hold]:
        rows = self.query("SELECT camera_id, start_wall_ns, end_wall_ns, until_wall_ns FROM evidence_holds"
                           " WHERE released_wall_ns IS NULL")
        return [Hold(**dict(r)) for r in rows]

    def add_hold(self, camera_id: str | None, start_wall_ns: int, end_wall_ns: int, reason: str, created_by: str,
                 now_wall_ns: int, until_wall_ns: int | None = None, case_id: str | None = None,
                 door_event_id: int | None = None) -> int:
        """A hold in a transaction of its own, with no audit entry: for tests and tools. Who holds
        footage on behalf of someone goes through services/holds.py (the hold and its audit entry
        in one transaction)."""
        new = NewHold(camera_id, start_wall_ns, end_wall_ns, reason, created_by, until_wall_ns, case_id,
                      door_event_id)
        with self.transaction() as c:
            return insert_hold(c, new, now_wall_ns)

    def add_bookmark(self, new: NewBookmark, now_wall_ns: int) -> int:
        """A bookmark in a transaction of its own, with no audit entry (see add_hold)."""
        with self.transaction() as c:
            return insert_bookmark(c, new, now_wall_ns)

    def move_to_garbage(self, segment_ids: Sequence[int], now_wall_ns: int) -> int:
        """Delete complete segments' rows, queueing their files for unlinking; one transaction."""
        moved = 0
        with self.transaction() as c:
            for segment_id in segment_ids:
                row = c.execute("SELECT dir_id, path FROM segments WHERE id = ? AND state = 'complete'",
                                (segment_id,)).fetchone()
                if row is None:
                    continue
                c.execute("INSERT INTO garbage (dir_id, path, queued_wall_ns) VALUES (?, ?, ?)",
                          (row["dir_id"], row["path"], now_wall_ns))
                c.execute("DELETE FROM segments WHERE id = ?", (segment_id,))
                moved += 1
        return moved

    def garbage(self) -> list[GarbageRow]:
        return [GarbageRow(**dict(r)) for r in self.query("SELECT id, dir_id, path FROM garbage ORDER BY id")]

    def forget_garbage(self, garbage_ids: Sequence[int]) -> None:
        with self.transaction() as c:
            c.executemany("DELETE FROM garbage WHERE id = ?", [(g,) for g in garbage_ids])

    # --- clips (clips/clip.py) --------------------------------------------------------------

    def storage_dir_paths(self) -> dict[int, Path]:
        """Recording dirs by id: a segment's file is storage_dir_paths()[row.dir_id] / row.path."""
        return {int(r["id"]): Path(r["path"]) for r in self.query("SELECT id, path FROM storage_dir")}

    # --- bulk reads (the timeline) -------------------------------------------------------------

    def query_tuples(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Like `query`, but plain tuples: a camera-day is ~1440 segment rows, and building
        sqlite3.Row objects costs more than SQLite's own work (bench/timeline.py)."""
        with self._holding(None, write=False) as conn:
            cursor = conn.cursor()
            cursor.row_factory = None
            return list(cursor.execute(sql, params).fetchall())
