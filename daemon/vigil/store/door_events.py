"""Door events, adapters' cursors and outage state in the index.

`insert` stores an event, and for a flagged one its bookmarks and evidence holds (each hold with
its `hold.create` audit entry, by `door:<source>`), in ONE
transaction keyed by the event's dedupe key: a crash before the commit leaves nothing, so the
adapter's redelivery (at-least-once) redoes all of it; a redelivery after the commit finds the
event and changes nothing.

Acknowledging is `ack_in`, inside the transaction in which services/door_events.py also writes
its audit entry."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from vigil.core.door_events import DoorEventKind
from vigil.core.door_record import NewDoorEvent
from vigil.core.errors import NotFoundError
from vigil.core.timebase import wall_ns_to_iso
from vigil.store.audit_log import append_in
from vigil.store.holds import NewBookmark, NewHold, insert_bookmark, insert_hold
from vigil.store.index import Index
from vigil.store.rows import where_clause

MAX_LIST = 5000


@dataclass(frozen=True)
class DoorEventRow(NewDoorEvent):
    """A stored door event: the record as it was stored, its local id, and who acknowledged it when."""

    id: int
    acked_by: str | None
    acked_wall_ns: int | None


@dataclass(frozen=True)
class AdapterState:
    source: str
    down_since_wall_ns: int | None
    down_reason: str | None
    offline_event_id: int | None
    offline_flagged: bool


@dataclass(frozen=True)
class Inserted:
    id: int
    duplicate: bool
    hold_ids: tuple[int, ...] = ()
    bookmark_ids: tuple[int, ...] = ()


def _row(r: sqlite3.Row) -> DoorEventRow:
    return DoorEventRow(
        id=int(r["id"]), source=str(r["source"]), event_id=str(r["event_id"]), dedupe_key=str(r["dedupe_key"]),
        occurred_wall_ns=int(r["occurred_wall_ns"]), received_wall_ns=int(r["received_wall_ns"]),
        kind=DoorEventKind(r["kind"]), reason=r["reason"], access_point=r["access_point"],
        door_id=r["door_id"], direction=r["direction"], building=r["building_id"],
        cameras=tuple(json.loads(r["cameras"])), credential_hash=r["credential_hash"],
        credential_last4=r["credential_last4"], cardholder=r["cardholder"], severity=str(r["severity"]),
        flag_reasons=tuple(json.loads(r["flag_reasons"])), unmapped=bool(r["unmapped"]),
        raw=r["raw"], raw_truncated=bool(r["raw_truncated"]), acked_by=r["acked_by"],
        acked_wall_ns=r["acked_wall_ns"])


def event_in(c: sqlite3.Connection, event_id: int) -> DoorEventRow:
    """One stored door event, read on the caller's connection (inside its transaction)."""
    row = c.execute("SELECT * FROM door_events WHERE id = ?", (event_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no door event {event_id}")
    return _row(row)


def ack_in(c: sqlite3.Connection, event_id: int, actor: str, now_wall_ns: int) -> bool:
    """Acknowledge inside the caller's transaction; False when it already was (a second ack keeps
    the first one's who and when)."""
    cur = c.execute("UPDATE door_events SET acked_by = ?, acked_wall_ns = ? WHERE id = ? AND acked_by IS NULL",
                    (actor, now_wall_ns, event_id))
    return cur.rowcount == 1


class DoorStore:
    def __init__(self, index: Index) -> None:
        self.index = index

    def find(self, dedupe_key: str) -> int | None:
        rows = self.index.query("SELECT id FROM door_events WHERE dedupe_key = ?", (dedupe_key,))
        return int(rows[0]["id"]) if rows else None

    def insert(self, new: NewDoorEvent, hold_range: tuple[int, int] | None, now_wall_ns: int) -> Inserted:
        """Store the event; when `hold_range` is given (a flagged event at a mapped door), also a
        bookmark and an evidence hold over that range on each of the event's cameras."""
        with self.index.transaction() as c:
            found = c.execute("SELECT id FROM door_events WHERE dedupe_key = ?", (new.dedupe_key,)).fetchone()
            if found is not None:
                return Inserted(int(found["id"]), True)
            cur = c.execute(
                "INSERT INTO door_events (source, event_id, dedupe_key, occurred_wall_ns, received_wall_ns, skew_ns,"
                " kind, reason, access_point, door_id, direction, building_id, cameras, credential_hash,"
                " credential_last4, cardholder, severity, flagged, flag_reasons, unmapped, raw, raw_truncated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (new.source, new.event_id, new.dedupe_key, new.occurred_wall_ns, new.received_wall_ns, new.skew_ns,
                 new.kind.value, new.reason, new.access_point, new.door_id, new.direction, new.building,
                 json.dumps(list(new.cameras)), new.credential_hash, new.credential_last4, new.cardholder,
                 new.severity, int(new.flagged), json.dumps(list(new.flag_reasons)), int(new.unmapped), new.raw,
                 int(new.raw_truncated)))
            event_id = int(cur.lastrowid or 0)
            if hold_range is None or not new.flagged:
                return Inserted(event_id, False)
            start_ns, end_ns = hold_range
            headline = f"{new.kind.value.replace('_', ' ')} at {new.door_id}"
            description = "; ".join(new.flag_reasons)
            actor = f"door:{new.source}"
            bookmarks, holds = [], []
            for camera in new.cameras or (None,):
                bookmarks.append(insert_bookmark(c, NewBookmark(
                    camera, new.building, start_ns, end_ns, headline, actor, description, event_id), now_wall_ns))
                if camera is None:
                    continue
                holds.append(insert_hold(c, NewHold(camera, start_ns, end_ns, f"door event {event_id}: {description}",
                                                    actor, door_event_id=event_id), now_wall_ns))
                append_in(c, now_wall_ns, actor, "hold.create", f"hold:{holds[-1]}", "ok", {
                    "camera": camera, "start": wall_ns_to_iso(start_ns), "end": wall_ns_to_iso(end_ns),
                    "reason": description, "door_event_id": event_id})
            return Inserted(event_id, False, tuple(holds), tuple(bookmarks))

    def get(self, event_id: int) -> DoorEventRow:
        rows = self.index.query("SELECT * FROM door_events WHERE id = ?", (event_id,))
        if not rows:
            raise NotFoundError(f"no door event {event_id}")
        return _row(rows[0])

    def events(self, start_wall_ns: int | None = None, end_wall_ns: int | None = None, *, door_id: str | None = None,
               kind: str | None = None, flagged: bool | None = None, buildings: Sequence[str] | None = None,
               include_placeless: bool = True, limit: int = MAX_LIST) -> list[DoorEventRow]:
        """Events by device time in [start, end), oldest first. `buildings` (None: all) limits them to
        those buildings' doors; `include_placeless` adds the events with no building (unmapped, adapters)."""
        where, params = where_clause({
            "occurred_wall_ns >= ?": start_wall_ns, "occurred_wall_ns < ?": end_wall_ns, "door_id = ?": door_id,
            "kind = ?": kind, "flagged = ?": None if flagged is None else int(flagged)})
        if buildings is not None:
            marks = ", ".join("?" for _ in buildings)
            place = f"building_id IN ({marks})" if buildings else "0"
            if include_placeless:
                place = f"({place} OR building_id IS NULL)"
            where = f"{where} AND {place}" if where else f"WHERE {place}"
            params += list(buildings)
        elif not include_placeless:
            where = f"{where} AND building_id IS NOT NULL" if where else "WHERE building_id IS NOT NULL"
        rows = self.index.query(f"SELECT * FROM door_events {where} ORDER BY occurred_wall_ns, id LIMIT ?",  # noqa: S608
                                [*params, limit])
        return [_row(r) for r in rows]

    def events_at_camera(self, camera_id: str, start_wall_ns: int, end_wall_ns: int, limit: int = MAX_LIST
                         ) -> list[DoorEventRow]:
        """Events in [start, end) whose door links `camera_id` (a camera's timeline)."""
        rows = self.index.query(
            "SELECT * FROM door_events WHERE occurred_wall_ns >= ? AND occurred_wall_ns < ? AND EXISTS"
            " (SELECT 1 FROM json_each(door_events.cameras) WHERE value = ?) ORDER BY occurred_wall_ns, id LIMIT ?",
            (start_wall_ns, end_wall_ns, camera_id, limit))
        return [_row(r) for r in rows]

    def flag(self, event_id: int, reasons: Sequence[str], severity: str) -> None:
        with self.index.transaction() as c:
            c.execute("UPDATE door_events SET flagged = 1, flag_reasons = ?, severity = ? WHERE id = ?",
                      (json.dumps(list(reasons)), severity, event_id))

    # --- adapters ------------------------------------------------------------------------------

    def load_cursor(self, source: str) -> str | None:
        rows = self.index.query("SELECT cursor FROM door_adapters WHERE source = ?", (source,))
        return None if not rows else rows[0]["cursor"]

    def save_cursor(self, source: str, cursor: str) -> None:
        with self.index.transaction() as c:
            c.execute("INSERT INTO door_adapters (source, cursor) VALUES (?, ?)"
                      " ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor", (source, cursor))

    def adapter(self, source: str) -> AdapterState:
        rows = self.index.query("SELECT * FROM door_adapters WHERE source = ?", (source,))
        if not rows:
            return AdapterState(source, None, None, None, False)
        r = rows[0]
        return AdapterState(source, r["down_since_wall_ns"], r["down_reason"], r["offline_event_id"],
                            bool(r["offline_flagged"]))

    def adapters_down(self) -> list[AdapterState]:
        rows = self.index.query("SELECT source FROM door_adapters WHERE down_since_wall_ns IS NOT NULL ORDER BY source")
        return [self.adapter(str(r["source"])) for r in rows]

    def set_down(self, source: str, since_wall_ns: int, reason: str, offline_event_id: int) -> None:
        with self.index.transaction() as c:
            c.execute("INSERT INTO door_adapters (source, down_since_wall_ns, down_reason, offline_event_id)"
                      " VALUES (?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET down_since_wall_ns ="
                      " excluded.down_since_wall_ns, down_reason = excluded.down_reason,"
                      " offline_event_id = excluded.offline_event_id, offline_flagged = 0",
                      (source, since_wall_ns, reason, offline_event_id))

    def set_up(self, source: str) -> None:
        with self.index.transaction() as c:
            c.execute("UPDATE door_adapters SET down_since_wall_ns = NULL, down_reason = NULL, offline_event_id = NULL,"
                      " offline_flagged = 0 WHERE source = ?", (source,))

    def set_offline_flagged(self, source: str) -> None:
        with self.index.transaction() as c:
            c.execute("UPDATE door_adapters SET offline_flagged = 1 WHERE source = ?", (source,))
