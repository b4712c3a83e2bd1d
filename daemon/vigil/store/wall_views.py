"""Saved live-wall views in the index: one row per view, owned by one user.

The writes take the open connection so that services/wall_views.py commits each change with its
audit entry in ONE transaction; `views_of` and `view` read on the index's read connection."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from vigil.core.errors import ConflictError, NotFoundError
from vigil.core.wall_views import Tiles, ViewRequest
from vigil.store.index import Index

__all__ = ["WallViewRow", "count_views_in", "delete_view_in", "insert_view", "update_view_in", "view", "view_in",
           "views_of"]

_COLUMNS = "id, user_id, name, layout, cameras, created_wall_ns, updated_wall_ns"


@dataclass(frozen=True)
class WallViewRow:
    id: int
    user_id: int  # its owner: nobody else sees or changes it
    name: str
    layout: int  # tiles: 1, 4, 9 or 16
    cameras: Tiles  # the camera of each tile in reading order (None: empty)
    created_wall_ns: int
    updated_wall_ns: int


def _row(r: sqlite3.Row) -> WallViewRow:
    return WallViewRow(r["id"], r["user_id"], r["name"], r["layout"], tuple(json.loads(r["cameras"])),
                       r["created_wall_ns"], r["updated_wall_ns"])


def _name_taken(c: sqlite3.Connection, user_id: int, name: str, other_than: int | None) -> None:
    row = c.execute("SELECT id FROM wall_views WHERE user_id = ? AND name = ?", (user_id, name)).fetchone()
    if row is not None and row["id"] != other_than:
        raise ConflictError(f"you already have a view named {name!r}")


def count_views_in(c: sqlite3.Connection, user_id: int) -> int:
    return int(c.execute("SELECT count(*) FROM wall_views WHERE user_id = ?", (user_id,)).fetchone()[0])


def insert_view(c: sqlite3.Connection, user_id: int, req: ViewRequest, now_wall_ns: int) -> int:
    """A new view of `user_id`, inside the caller's transaction (ConflictError: the name is taken)."""
    _name_taken(c, user_id, req.name, None)
    cur = c.execute("INSERT INTO wall_views (user_id, name, layout, cameras, created_wall_ns, updated_wall_ns)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (user_id, req.name, req.layout, json.dumps(list(req.cameras)), now_wall_ns, now_wall_ns))
    return int(cur.lastrowid or 0)


def view_in(c: sqlite3.Connection, view_id: int) -> WallViewRow:
    row = c.execute(f"SELECT {_COLUMNS} FROM wall_views WHERE id = ?", (view_id,)).fetchone()  # noqa: S608
    if row is None:
        raise NotFoundError(f"no view {view_id}")
    return _row(row)


def update_view_in(c: sqlite3.Connection, view_id: int, req: ViewRequest, now_wall_ns: int) -> WallViewRow:
    """Replace the view's name, layout and cameras; returns the view as it is now."""
    _name_taken(c, view_in(c, view_id).user_id, req.name, view_id)
    c.execute("UPDATE wall_views SET name = ?, layout = ?, cameras = ?, updated_wall_ns = ? WHERE id = ?",
              (req.name, req.layout, json.dumps(list(req.cameras)), now_wall_ns, view_id))
    return view_in(c, view_id)


def delete_view_in(c: sqlite3.Connection, view_id: int) -> WallViewRow:
    """Delete the view; returns what it held (its audit entry keeps that)."""
    row = view_in(c, view_id)
    c.execute("DELETE FROM wall_views WHERE id = ?", (view_id,))
    return row


def views_of(index: Index, user_id: int) -> list[WallViewRow]:
    """The user's views, by name."""
    rows = index.query(f"SELECT {_COLUMNS} FROM wall_views WHERE user_id = ? ORDER BY name, id",  # noqa: S608
                       (user_id,))
    return [_row(r) for r in rows]


def view(index: Index, view_id: int) -> WallViewRow:
    rows = index.query(f"SELECT {_COLUMNS} FROM wall_views WHERE id = ?", (view_id,))  # noqa: S608
    if not rows:
        raise NotFoundError(f"no view {view_id}")
    return _row(rows[0])
