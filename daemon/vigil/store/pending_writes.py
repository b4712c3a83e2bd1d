"""A camera's index writes (runs, segments, camera events, motion), applied in order, queued while
the index is busy so that recording never waits for it (design/storage.md, "A busy index").

Each write is self-sufficient: it (re)inserts the run row it needs, so a write dropped from a
full queue leaves the index consistent, only missing that row until startup recovery indexes
the file it describes. The recorder thread flushes its camera's queue every batch interval;
other threads submitting (ingest, motion) flush it too when a retry is due."""

from __future__ import annotations

import collections
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vigil.core.errors import DiskFullError, IndexBusyError
from vigil.core.index_wait import RetryState, accepts
from vigil.store.index import Index
from vigil.store.rows import FinishedSegment, NewSegment, insert_open_segment, mark_complete

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexWrite:
    what: str  # for the log
    apply: Callable[[sqlite3.Connection], object]


@dataclass(frozen=True)
class RunInfo:
    id: int
    camera_id: str
    stream: str
    start_wall_ns: int
    codec: str


def _ensure_run(c: sqlite3.Connection, run: RunInfo) -> None:
    c.execute("INSERT OR IGNORE INTO runs (id, camera_id, stream, start_wall_ns, codec) VALUES (?, ?, ?, ?, ?)",
              (run.id, run.camera_id, run.stream, run.start_wall_ns, run.codec))


def run_started(run: RunInfo) -> IndexWrite:
    return IndexWrite(f"run {run.id} started", lambda c: _ensure_run(c, run))


def segment_opened(run: RunInfo, segment_id: int, new: NewSegment) -> IndexWrite:
    def apply(c: sqlite3.Connection) -> None:
        _ensure_run(c, run)
        insert_open_segment(c, segment_id, new)

    return IndexWrite(f"segment {new.path} opened", apply)


def segment_completed(run: RunInfo, segment_id: int, new: NewSegment, done: FinishedSegment) -> IndexWrite:
    def apply(c: sqlite3.Connection) -> None:
        _ensure_run(c, run)
        insert_open_segment(c, segment_id, new)  # nothing if its reservation was applied
        mark_complete(c, segment_id, done)

    return IndexWrite(f"segment {new.path} complete", apply)


def segment_discarded(segment_id: int) -> IndexWrite:
    return IndexWrite(f"segment {segment_id} discarded",
                      lambda c: c.execute("DELETE FROM segments WHERE id = ? AND state = 'open'", (segment_id,)))


def run_ended(run: RunInfo, end_wall_ns: int, reason: str) -> IndexWrite:
    def apply(c: sqlite3.Connection) -> None:
        _ensure_run(c, run)
        c.execute("UPDATE runs SET end_wall_ns = ?, end_reason = ? WHERE id = ? AND end_wall_ns IS NULL",
                  (end_wall_ns, reason, run.id))

    return IndexWrite(f"run {run.id} ended", apply)


def event_added(camera_id: str | None, kind: str, wall_ns: int, reason: str | None = None,
                detail: str | None = None) -> IndexWrite:
    return IndexWrite(f"event {kind}", lambda c: c.execute(
        "INSERT INTO events (camera_id, kind, wall_ns, reason, detail) VALUES (?, ?, ?, ?, ?)",
        (camera_id, kind, wall_ns, reason, detail)))


class PendingWrites:
    """The ordered, bounded queue of one camera's index writes (thread-safe)."""

    def __init__(self, index: Index, name: str, clock_s: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random) -> None:
        self.index = index
        self.name = name
        self.clock_s = clock_s
        self.jitter = jitter
        self.dropped = 0
        self._queue: collections.deque[IndexWrite] = collections.deque()
        self._lock = threading.Lock()  # guards the deque and the retry state
        self._flushing = threading.Lock()  # one flusher at a time keeps the order
        self._retry = RetryState()
        self._behind_since_s: float | None = None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def submit(self, write: IndexWrite) -> None:
        """Queue `write` after the camera's earlier ones and apply what the index takes now."""
        with self._lock:
            if not accepts(len(self._queue), self.index.wait):
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.error("index writes of %s: queue full (%d); dropped %d writes (%s); startup recovery will"
                              " index their files", self.name, len(self._queue), self.dropped, write.what)
                return
            self._queue.append(write)
        self.flush()

    def flush(self) -> bool:
        """Apply queued writes in order until the index is busy, when a retry is due; True when
        nothing is left. Never raises for a busy index: the writes stay queued."""
        if not self._flushing.acquire(blocking=False):
            return False  # another thread is applying them
        try:
            return self._flush()
        finally:
            self._flushing.release()

    def _flush(self) -> bool:
        while True:
            with self._lock:
                if not self._queue:
                    return True
                now_s = self.clock_s()
                if not self._retry.is_due(now_s):
                    return False
                write = self._queue[0]
            try:
                with self.index.transaction(wait_s=self.index.wait.attempt_wait_s) as c:
                    write.apply(c)
            except (IndexBusyError, DiskFullError, sqlite3.OperationalError) as error:  # busy or full: later
                self._failed(now_s, error)
                return False
            except sqlite3.Error as error:  # a bug, not the index's state: say so, do not block the queue
                log.error("index writes of %s: %s failed and is dropped: %s", self.name, write.what, error)
            with self._lock:
                self._queue.popleft()
                self._retry = RetryState.after_success()
                if self._behind_since_s is not None and not self._queue:
                    log.warning("index writes of %s: caught up after %.1f s", self.name,
                                self.clock_s() - self._behind_since_s)
                    self._behind_since_s = None

    def _failed(self, now_s: float, error: Exception) -> None:
        with self._lock:
            self._retry = self._retry.after_busy(self.index.wait, now_s, self.jitter())
            if self._behind_since_s is None:
                self._behind_since_s = now_s
                log.warning("index writes of %s: %s; %d queued, recording continues", self.name, error,
                            len(self._queue))

    def drain(self, timeout_s: float) -> bool:
        """Flush until empty or `timeout_s` passed (at shutdown); True when nothing is left."""
        deadline = self.clock_s() + timeout_s
        while not self.flush():
            if self.clock_s() >= deadline:
                log.error("index writes of %s: %d not applied at shutdown; startup recovery will index"
                          " their files", self.name, self.queued)
                return False
            time.sleep(min(0.05, max(0.0, deadline - self.clock_s())))
        return True
