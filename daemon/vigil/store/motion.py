"""The motion index in SQLite: intervals (with the cells that moved) and per-second peaks."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from vigil.core.motion import GRID, Heatmap
from vigil.core.motion_intervals import MotionInterval
from vigil.store.index import Index
from vigil.store.pending_writes import IndexWrite, PendingWrites

_CELL_BYTES = GRID * GRID // 8


@dataclass(frozen=True)
class MotionSecond:
    second: int  # Unix seconds
    score: float
    heatmap: Heatmap


class MotionStore:
    def __init__(self, index: Index, writes: PendingWrites | None = None) -> None:
        """With `writes` (the camera's queue, as the daemon does) writes are queued while the index
        is busy; without, they are written at once."""
        self.index = index
        self.writes = writes

    def _write(self, write: IndexWrite) -> None:
        if self.writes is not None:
            self.writes.submit(write)
            return
        with self.index.transaction() as c:
            write.apply(c)

    def add_interval(self, camera_id: str, interval: MotionInterval) -> None:
        row = (camera_id, interval.start_wall_ns, interval.end_wall_ns, round(interval.peak * 1000),
               interval.cells.to_bytes(_CELL_BYTES, "big"))

        def apply(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO motion_intervals (camera_id, start_wall_ns, end_wall_ns, peak_milli, cells)"
                      " VALUES (?, ?, ?, ?, ?)", row)

        self._write(IndexWrite("motion interval", apply))

    def add_seconds(self, camera_id: str, seconds: list[MotionSecond]) -> None:
        rows = [(camera_id, s.second, round(s.score * 1000),
                 np.clip(s.heatmap * 255, 0, 255).astype(np.uint8).tobytes()) for s in seconds]

        def apply(c: sqlite3.Connection) -> None:
            c.executemany("INSERT OR REPLACE INTO motion_seconds (camera_id, second, score_milli, heatmap)"
                          " VALUES (?, ?, ?, ?)", rows)

        self._write(IndexWrite("motion seconds", apply))

    def intervals(self, camera_id: str, start_ns: int, end_ns: int, region: int | None = None
                  ) -> list[MotionInterval]:
        rows = self.index.query(
            "SELECT start_wall_ns, end_wall_ns, peak_milli, cells FROM motion_intervals WHERE camera_id = ?"
            " AND start_wall_ns < ? AND end_wall_ns >= ? ORDER BY start_wall_ns", (camera_id, end_ns, start_ns))
        out = [MotionInterval(r[0], r[1], r[2] / 1000, int.from_bytes(r[3], "big")) for r in rows]
        return out if region is None else [i for i in out if i.cells & region]

    def heatmap(self, camera_id: str, start_ns: int, end_ns: int) -> Heatmap:
        """The per-cell maximum over the range (0..1)."""
        rows = self.index.query("SELECT heatmap FROM motion_seconds WHERE camera_id = ? AND second >= ?"
                                " AND second < ?", (camera_id, start_ns // 10**9, -(-end_ns // 10**9)))
        out = np.zeros((GRID, GRID), dtype=np.float32)
        for (blob,) in rows:
            np.maximum(out, np.frombuffer(blob, dtype=np.uint8).reshape(GRID, GRID) / 255, out=out)
        return out
