"""Floor plans (their images included) and the pins placed on them. SQL only: who may and the
audit entry are services/plans.py's, in the same transaction (every function takes the open
connection)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from vigil.core.errors import NotFoundError
from vigil.core.placements import PinKind, PlacementRequest, PlanRequest
from vigil.core.plan_image import PlanImageInfo
from vigil.store.index import Index

_PLAN_COLUMNS = ("id, building_id, floor, level, name, content_type, width_px, height_px, size_bytes, sha256,"
                 " created_by, created_wall_ns")


@dataclass(frozen=True)
class PlanRow:
    id: int
    building_id: str | None  # None: the campus plan
    floor: str
    level: int
    name: str
    content_type: str
    width_px: int
    height_px: int
    size_bytes: int
    sha256: str
    created_by: str
    created_wall_ns: int


@dataclass(frozen=True)
class PlacementRow:
    id: int
    plan_id: int
    kind: PinKind
    item_id: str
    x_px: float
    y_px: float
    rotation_deg: float
    fov_deg: float | None
    range_px: float | None
    updated_by: str
    updated_wall_ns: int


def _plan(r: sqlite3.Row) -> PlanRow:
    return PlanRow(r["id"], r["building_id"], r["floor"], r["level"], r["name"], r["content_type"], r["width_px"],
                   r["height_px"], r["size_bytes"], r["sha256"], r["created_by"], r["created_wall_ns"])


def _placement(r: sqlite3.Row) -> PlacementRow:
    return PlacementRow(r["id"], r["plan_id"], PinKind(r["kind"]), r["item_id"], r["x_px"], r["y_px"],
                        r["rotation_deg"], r["fov_deg"], r["range_px"], r["updated_by"], r["updated_wall_ns"])




def plan_in(c: sqlite3.Connection, plan_id: int) -> PlanRow:
    row = c.execute(f"SELECT {_PLAN_COLUMNS} FROM plans WHERE id = ?", (plan_id,)).fetchone()  # noqa: S608
    if row is None:
        raise NotFoundError(f"no plan {plan_id}")
    return _plan(row)


def plan_at(c: sqlite3.Connection, building_id: str | None, floor: str) -> int | None:
    """The id of the plan of that building's floor (None: the campus plan), if there is one."""
    row = c.execute("SELECT id FROM plans WHERE ifnull(building_id, '') = ? AND floor = ?",
                    (building_id or "", floor)).fetchone()
    return None if row is None else int(row["id"])




def insert_plan(c: sqlite3.Connection, req: PlanRequest, info: PlanImageInfo, sha256: str, image: bytes,
                created_by: str, now_wall_ns: int) -> int:
    cursor = c.execute(
        "INSERT INTO plans (building_id, floor, level, name, content_type, width_px, height_px, size_bytes, sha256,"
        " image, created_by, created_wall_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (req.building_id, req.floor, req.level, req.name, info.format.content_type, info.width_px, info.height_px,
         info.size_bytes, sha256, image, created_by, now_wall_ns))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def delete_plan_in(c: sqlite3.Connection, plan_id: int) -> int:
    """Delete a plan and its pins; returns how many pins went with it."""
    pins = int(c.execute("SELECT count(*) FROM placements WHERE plan_id = ?", (plan_id,)).fetchone()[0])
    if c.execute("DELETE FROM plans WHERE id = ?", (plan_id,)).rowcount == 0:
        raise NotFoundError(f"no plan {plan_id}")
    return pins




def placement_in(c: sqlite3.Connection, placement_id: int) -> PlacementRow:
    row = c.execute("SELECT * FROM placements WHERE id = ?", (placement_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no placement {placement_id}")
    return _placement(row)


def upsert_placement(c: sqlite3.Connection, req: PlacementRequest, updated_by: str, now_wall_ns: int) -> int:
    """Place the item on the plan, or move it there if it already is; returns the pin's id."""
    c.execute(
        "INSERT INTO placements (plan_id, kind, item_id, x_px, y_px, rotation_deg, fov_deg, range_px, updated_by,"
        " updated_wall_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (plan_id, kind, item_id) DO UPDATE SET"
        " x_px = excluded.x_px, y_px = excluded.y_px, rotation_deg = excluded.rotation_deg,"
        " fov_deg = excluded.fov_deg, range_px = excluded.range_px, updated_by = excluded.updated_by,"
        " updated_wall_ns = excluded.updated_wall_ns",
        (req.plan_id, req.kind.value, req.item_id, req.x_px, req.y_px, req.rotation_deg, req.fov_deg, req.range_px,
         updated_by, now_wall_ns))
    row = c.execute("SELECT id FROM placements WHERE plan_id = ? AND kind = ? AND item_id = ?",
                    (req.plan_id, req.kind.value, req.item_id)).fetchone()
    return int(row["id"])


def delete_placement_in(c: sqlite3.Connection, placement_id: int) -> None:
    if c.execute("DELETE FROM placements WHERE id = ?", (placement_id,)).rowcount == 0:
        raise NotFoundError(f"no placement {placement_id}")


class PlanStore:
    """Reads on the index's reading connection (the services' listings and the image route)."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def plans(self) -> list[PlanRow]:
        rows = self.index.query(f"SELECT {_PLAN_COLUMNS} FROM plans"  # noqa: S608 (constant columns)
                                " ORDER BY building_id IS NOT NULL, building_id, level, floor")
        return [_plan(r) for r in rows]

    def plan(self, plan_id: int) -> PlanRow:
        rows = self.index.query(f"SELECT {_PLAN_COLUMNS} FROM plans WHERE id = ?", (plan_id,))  # noqa: S608
        if not rows:
            raise NotFoundError(f"no plan {plan_id}")
        return _plan(rows[0])

    def image(self, plan_id: int) -> tuple[str, str, bytes]:
        """The plan's content type, sha256 and image bytes."""
        rows = self.index.query("SELECT content_type, sha256, image FROM plans WHERE id = ?", (plan_id,))
        if not rows:
            raise NotFoundError(f"no plan {plan_id}")
        return str(rows[0]["content_type"]), str(rows[0]["sha256"]), bytes(rows[0]["image"])

    def placements(self, plan_id: int | None = None) -> list[PlacementRow]:
        if plan_id is None:
            rows = self.index.query("SELECT * FROM placements ORDER BY plan_id, kind, item_id")
        else:
            rows = self.index.query("SELECT * FROM placements WHERE plan_id = ? ORDER BY kind, item_id", (plan_id,))
        return [_placement(r) for r in rows]

    def placement(self, placement_id: int) -> PlacementRow:
        rows = self.index.query("SELECT * FROM placements WHERE id = ?", (placement_id,))
        if not rows:
            raise NotFoundError(f"no placement {placement_id}")
        return _placement(rows[0])
