"""Incidents, their joins and the outbox of their deliveries in the index.

Writes take the open connection, so services/incidents.py commits an incident, its holds, its
link, its delivery rows and its audit entry in ONE transaction; the delivery worker marks each
attempt in a transaction of its own. `Incidents` reads on the index's read connection.
At most one incident per building is open (a unique partial index): a second declaration that
races the first fails its insert and joins instead."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from vigil.core.errors import ConflictError, NotFoundError
from vigil.core.incidents import Declaration, DeclaredVia, DeliveryEvent, DeliveryState, IncidentState
from vigil.store.index import Index

__all__ = ["DeliveryRow", "IncidentRow", "Incidents", "JoinRow", "add_cameras_in", "add_join_in", "deliveries_in",
           "end_incident_in", "incident_in", "insert_delivery_in", "insert_incident_in", "mark_delivery_in",
           "open_incident_in", "set_link_in", "set_report_in"]


@dataclass(frozen=True)
class IncidentRow:
    id: int
    building_id: str
    cameras: tuple[str, ...]
    whole_building: bool
    reason: str
    drill: bool
    declared_by: str
    declared_via: DeclaredVia
    declared_wall_ns: int
    hold_start_wall_ns: int
    link_id: int | None
    ended_wall_ns: int | None
    ended_by: str | None
    end_note: str | None
    hold_end_wall_ns: int | None  # None while open: the holds run until the end
    report_cameras: tuple[str, ...]  # whose video the report carries (chosen at the end)
    report_export_id: int | None

    @property
    def state(self) -> IncidentState:
        return IncidentState.OPEN if self.ended_wall_ns is None else IncidentState.ENDED


@dataclass(frozen=True)
class JoinRow:
    id: int
    incident_id: int
    actor: str
    via: DeclaredVia
    reason: str
    wall_ns: int


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    incident_id: int
    event: DeliveryEvent
    recipient: str
    state: DeliveryState
    attempts: int
    next_attempt_wall_ns: int | None
    last_error: str | None
    created_wall_ns: int
    delivered_wall_ns: int | None


def _incident(row: sqlite3.Row) -> IncidentRow:
    d = dict(row)
    return IncidentRow(**{**d, "cameras": tuple(json.loads(d["cameras"])), "whole_building": bool(d["whole_building"]),
                          "drill": bool(d["drill"]), "declared_via": DeclaredVia(d["declared_via"]),
                          "report_cameras": tuple(json.loads(d["report_cameras"] or "[]"))})


def _join(row: sqlite3.Row) -> JoinRow:
    d = dict(row)
    return JoinRow(**{**d, "via": DeclaredVia(d["via"])})


def _delivery(row: sqlite3.Row) -> DeliveryRow:
    d = dict(row)
    return DeliveryRow(**{**d, "event": DeliveryEvent(d["event"]), "state": DeliveryState(d["state"])})


def insert_incident_in(c: sqlite3.Connection, declaration: Declaration, actor: str, via: DeclaredVia, now_ns: int,
                       hold_start_ns: int) -> int:
    """A new open incident; ConflictError if the building has one open already (join it instead)."""
    try:
        cur = c.execute(
            "INSERT INTO incidents (building_id, cameras, whole_building, reason, drill, declared_by, declared_via,"
            " declared_wall_ns, hold_start_wall_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (declaration.building, json.dumps(list(declaration.cameras)), int(declaration.whole_building),
             declaration.reason, int(declaration.drill), actor, via.value, now_ns, hold_start_ns))
    except sqlite3.IntegrityError:
        raise ConflictError(f"building {declaration.building!r} has an open incident already") from None
    return int(cur.lastrowid or 0)


def incident_in(c: sqlite3.Connection, incident_id: int) -> IncidentRow:
    row = c.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no incident {incident_id}")
    return _incident(row)


def open_incident_in(c: sqlite3.Connection, building_id: str) -> IncidentRow | None:
    row = c.execute("SELECT * FROM incidents WHERE building_id = ? AND ended_wall_ns IS NULL",
                    (building_id,)).fetchone()
    return None if row is None else _incident(row)


def set_link_in(c: sqlite3.Connection, incident_id: int, link_id: int) -> None:
    c.execute("UPDATE incidents SET link_id = ? WHERE id = ?", (link_id, incident_id))


def add_cameras_in(c: sqlite3.Connection, incident_id: int, cameras: Sequence[str]) -> None:
    """A join named cameras not held yet: the incident holds them too."""
    row = incident_in(c, incident_id)
    c.execute("UPDATE incidents SET cameras = ? WHERE id = ?",
              (json.dumps(sorted({*row.cameras, *cameras})), incident_id))


def add_join_in(c: sqlite3.Connection, incident_id: int, actor: str, via: DeclaredVia, reason: str,
                now_ns: int) -> int:
    cur = c.execute("INSERT INTO incident_joins (incident_id, actor, via, reason, wall_ns) VALUES (?, ?, ?, ?, ?)",
                    (incident_id, actor, via.value, reason, now_ns))
    return int(cur.lastrowid or 0)


def end_incident_in(c: sqlite3.Connection, incident_id: int, actor: str, note: str, now_ns: int,
                    hold_end_ns: int, report_cameras: Sequence[str] = ()) -> IncidentRow:
    """End an open incident and fix the end of its holds; ConflictError if it has ended already."""
    if incident_in(c, incident_id).ended_wall_ns is not None:
        raise ConflictError(f"incident {incident_id} has ended already")
    c.execute("UPDATE incidents SET ended_wall_ns = ?, ended_by = ?, end_note = ?, hold_end_wall_ns = ?,"
              " report_cameras = ? WHERE id = ?",
              (now_ns, actor, note, hold_end_ns, json.dumps(sorted(set(report_cameras))), incident_id))
    c.execute("UPDATE evidence_holds SET end_wall_ns = ? WHERE incident_id = ?", (hold_end_ns, incident_id))
    return incident_in(c, incident_id)


def set_report_in(c: sqlite3.Connection, incident_id: int, export_id: int) -> None:
    c.execute("UPDATE incidents SET report_export_id = ? WHERE id = ?", (export_id, incident_id))


def insert_delivery_in(c: sqlite3.Connection, incident_id: int, event: DeliveryEvent, recipient: str,
                       state: DeliveryState, now_ns: int) -> int:
    """A delivery to make (PENDING, due now) or recorded as not made (SKIPPED: a drill)."""
    cur = c.execute(
        "INSERT INTO incident_deliveries (incident_id, event, recipient, state, next_attempt_wall_ns, created_wall_ns)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (incident_id, event.value, recipient, state.value, now_ns if state is DeliveryState.PENDING else None, now_ns))
    return int(cur.lastrowid or 0)


def mark_delivery_in(c: sqlite3.Connection, delivery_id: int, state: DeliveryState, *, now_ns: int,
                     next_attempt_ns: int | None = None, error: str | None = None) -> DeliveryRow:
    """Record one attempt: delivered, failed for good, or pending again at `next_attempt_ns`."""
    c.execute("UPDATE incident_deliveries SET state = ?, attempts = attempts + 1, next_attempt_wall_ns = ?,"
              " last_error = ?, delivered_wall_ns = ? WHERE id = ?",
              (state.value, next_attempt_ns if state is DeliveryState.PENDING else None, error,
               now_ns if state is DeliveryState.DELIVERED else None, delivery_id))
    row = c.execute("SELECT * FROM incident_deliveries WHERE id = ?", (delivery_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no delivery {delivery_id}")
    return _delivery(row)


def deliveries_in(c: sqlite3.Connection, incident_id: int) -> list[DeliveryRow]:
    rows = c.execute("SELECT * FROM incident_deliveries WHERE incident_id = ? ORDER BY id", (incident_id,)).fetchall()
    return [_delivery(r) for r in rows]


class Incidents:
    """Reads on the index's read connection."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def get(self, incident_id: int) -> IncidentRow:
        rows = self.index.query("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        if not rows:
            raise NotFoundError(f"no incident {incident_id}")
        return _incident(rows[0])

    def incidents(self, state: IncidentState | None = None, limit: int = 200) -> list[IncidentRow]:
        """Newest first; `state` None: open and ended."""
        where = "" if state is None else (
            "WHERE ended_wall_ns IS NULL" if state is IncidentState.OPEN else "WHERE ended_wall_ns IS NOT NULL")
        rows = self.index.query(f"SELECT * FROM incidents {where} ORDER BY declared_wall_ns DESC, id DESC"  # noqa: S608
                                " LIMIT ?", (limit,))
        return [_incident(r) for r in rows]

    def by_link(self, link_id: int) -> IncidentRow | None:
        rows = self.index.query("SELECT * FROM incidents WHERE link_id = ?", (link_id,))
        return _incident(rows[0]) if rows else None

    def joins(self, incident_id: int) -> list[JoinRow]:
        rows = self.index.query("SELECT * FROM incident_joins WHERE incident_id = ? ORDER BY id", (incident_id,))
        return [_join(r) for r in rows]

    def deliveries(self, incident_id: int) -> list[DeliveryRow]:
        rows = self.index.query("SELECT * FROM incident_deliveries WHERE incident_id = ? ORDER BY id", (incident_id,))
        return [_delivery(r) for r in rows]

    def due_deliveries(self, now_ns: int, limit: int = 50) -> list[DeliveryRow]:
        """Pending deliveries whose next attempt is due, oldest first."""
        rows = self.index.query("SELECT * FROM incident_deliveries WHERE state = 'pending'"
                                " AND next_attempt_wall_ns <= ? ORDER BY next_attempt_wall_ns, id LIMIT ?",
                                (now_ns, limit))
        return [_delivery(r) for r in rows]

    def next_due_ns(self) -> int | None:
        """When the next pending delivery is due (None: nothing pending)."""
        rows = self.index.query("SELECT min(next_attempt_wall_ns) AS t FROM incident_deliveries"
                                " WHERE state = 'pending'")
        value = rows[0]["t"] if rows else None
        return None if value is None else int(value)
