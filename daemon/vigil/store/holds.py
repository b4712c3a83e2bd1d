"""Bookmarks and evidence holds in the index: listing, lookup, release, deletion.

Creating them is `Index.add_bookmark` / `Index.add_hold`, except for the door-event worker, which
inserts its bookmarks and holds itself, each hold with its audit entry, in the transaction that
stores the event (`DoorStore.insert`, store/door_events.py); retention reads active holds through
`Index.holds()`."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from vigil.core.errors import ConflictError, NotFoundError
from vigil.store.index import Index, where_clause


@dataclass(frozen=True)
class BookmarkRow:
    id: int
    camera_id: str | None
    building_id: str | None
    start_wall_ns: int
    end_wall_ns: int
    headline: str
    description: str
    created_by: str
    created_wall_ns: int
    door_event_id: int | None


@dataclass(frozen=True)
class HoldRow:
    id: int
    camera_id: str | None  # None: every camera
    start_wall_ns: int
    end_wall_ns: int
    reason: str
    case_id: str | None
    created_by: str
    created_wall_ns: int
    until_wall_ns: int | None  # None: until released
    released_wall_ns: int | None
    released_by: str | None
    door_event_id: int | None


_HOLD_COLUMNS = ("id, camera_id, start_wall_ns, end_wall_ns, reason, case_id, created_by, created_wall_ns,"
                 " until_wall_ns, released_wall_ns, released_by, door_event_id")


def _bookmark(row: sqlite3.Row) -> BookmarkRow:
    return BookmarkRow(**dict(row))


def _hold(row: sqlite3.Row) -> HoldRow:
    return HoldRow(**dict(row))


class EvidenceStore:
    def __init__(self, index: Index) -> None:
        self.index = index

    # --- bookmarks ---------------------------------------------------------------------------

    def bookmarks(self, camera_id: str | None = None, building_id: str | None = None,
                  start_wall_ns: int | None = None, end_wall_ns: int | None = None) -> list[BookmarkRow]:
        """Bookmarks overlapping [start, end); with a camera, also those about its whole building
        (`building_id`) and about everything (no camera, no building)."""
        about = None
        params: list[object] = []
        if camera_id is not None:
            about = "(camera_id = ? OR (camera_id IS NULL AND (building_id = ? OR building_id IS NULL)))"
            params = [camera_id, building_id]
        where, more = where_clause({"start_wall_ns < ?": end_wall_ns, "end_wall_ns >= ?": start_wall_ns})
        if about is not None:
            where = f"{where} AND {about}" if where else f"WHERE {about}"
        rows = self.index.query(f"SELECT * FROM bookmarks {where} ORDER BY start_wall_ns, id",  # noqa: S608
                                [*more, *params])
        return [_bookmark(r) for r in rows]

    def bookmark(self, bookmark_id: int) -> BookmarkRow:
        rows = self.index.query("SELECT * FROM bookmarks WHERE id = ?", (bookmark_id,))
        if not rows:
            raise NotFoundError(f"no bookmark {bookmark_id}")
        return _bookmark(rows[0])

    def delete_bookmark(self, bookmark_id: int) -> None:
        with self.index.transaction() as c:
            if c.execute("DELETE FROM bookmarks WHERE id = ?", (bookmark_id,)).rowcount != 1:
                raise NotFoundError(f"no bookmark {bookmark_id}")

    # --- evidence holds ----------------------------------------------------------------------

    def holds(self, camera_id: str | None = None, start_wall_ns: int | None = None,
              end_wall_ns: int | None = None) -> list[HoldRow]:
        """Holds (active or not) overlapping [start, end); with a camera, also the every-camera ones."""
        where, params = where_clause({"start_wall_ns < ?": end_wall_ns, "end_wall_ns > ?": start_wall_ns,
                                      "(camera_id = ? OR camera_id IS NULL)": camera_id})
        rows = self.index.query(f"SELECT {_HOLD_COLUMNS} FROM evidence_holds {where}"  # noqa: S608
                                " ORDER BY start_wall_ns, id", params)
        return [_hold(r) for r in rows]

    def hold(self, hold_id: int) -> HoldRow:
        rows = self.index.query(f"SELECT {_HOLD_COLUMNS} FROM evidence_holds WHERE id = ?",  # noqa: S608
                                (hold_id,))
        if not rows:
            raise NotFoundError(f"no evidence hold {hold_id}")
        return _hold(rows[0])

    def release_hold(self, hold_id: int, released_by: str, now_wall_ns: int) -> HoldRow:
        """Mark a hold released: from now on retention may delete what only it protected."""
        with self.index.transaction() as c:
            row = c.execute("SELECT released_wall_ns FROM evidence_holds WHERE id = ?", (hold_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no evidence hold {hold_id}")
            if row[0] is not None:
                raise ConflictError(f"evidence hold {hold_id} is already released")
            c.execute("UPDATE evidence_holds SET released_wall_ns = ?, released_by = ? WHERE id = ?",
                      (now_wall_ns, released_by, hold_id))
        return self.hold(hold_id)
