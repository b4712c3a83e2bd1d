"""Bookmarks and evidence holds in the index: creation, lookup, release, deletion, listing.

The writes take the open connection (`insert_hold`, `release_hold_in`, ...) so that a service
(services/holds.py, services/bookmarks.py, the export worker) or the door-event store commits
each change with its audit entry (store.audit_log.append_in) in ONE transaction. The inserts live
in store/index.py next to the table's retention read (`Index.holds()`) and are re-exported here.
`EvidenceStore` reads on the index's read connection."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from vigil.core.errors import ConflictError, NotFoundError
from vigil.store.index import Index
from vigil.store.rows import NewBookmark, NewHold, insert_bookmark, insert_hold, where_clause

__all__ = ["BookmarkRow", "EvidenceStore", "HoldRow", "NewBookmark", "NewHold", "bookmark_in", "delete_bookmark_in",
           "hold_in", "insert_bookmark", "insert_hold", "release_hold_in"]


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
    incident_id: int | None = None


_HOLD_COLUMNS = ("id, camera_id, start_wall_ns, end_wall_ns, reason, case_id, created_by, created_wall_ns,"
                 " until_wall_ns, released_wall_ns, released_by, door_event_id, incident_id")


def _bookmark(row: sqlite3.Row) -> BookmarkRow:
    return BookmarkRow(**dict(row))


def _hold(row: sqlite3.Row) -> HoldRow:
    return HoldRow(**dict(row))


def bookmark_in(c: sqlite3.Connection, bookmark_id: int) -> BookmarkRow:
    row = c.execute("SELECT * FROM bookmarks WHERE id = ?", (bookmark_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no bookmark {bookmark_id}")
    return _bookmark(row)


def delete_bookmark_in(c: sqlite3.Connection, bookmark_id: int) -> BookmarkRow:
    """Delete a bookmark; returns what it said (its audit entry keeps that)."""
    row = bookmark_in(c, bookmark_id)
    c.execute("DELETE FROM bookmarks WHERE id = ?", (bookmark_id,))
    return row


def hold_in(c: sqlite3.Connection, hold_id: int) -> HoldRow:
    row = c.execute(f"SELECT {_HOLD_COLUMNS} FROM evidence_holds WHERE id = ?", (hold_id,)).fetchone()  # noqa: S608
    if row is None:
        raise NotFoundError(f"no evidence hold {hold_id}")
    return _hold(row)


def release_hold_in(c: sqlite3.Connection, hold_id: int, released_by: str, now_wall_ns: int) -> HoldRow:
    """Mark a hold released: from now on retention may delete what only it protected."""
    if hold_in(c, hold_id).released_wall_ns is not None:
        raise ConflictError(f"evidence hold {hold_id} is already released")
    c.execute("UPDATE evidence_holds SET released_wall_ns = ?, released_by = ? WHERE id = ?",
              (now_wall_ns, released_by, hold_id))
    return hold_in(c, hold_id)


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
        """In a transaction of its own, unaudited (tests, tools): services/bookmarks.py audits it."""
        with self.index.transaction() as c:
            delete_bookmark_in(c, bookmark_id)

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
        """In a transaction of its own, unaudited (tests, tools): services/holds.py audits it."""
        with self.index.transaction() as c:
            return release_hold_in(c, hold_id, released_by, now_wall_ns)
