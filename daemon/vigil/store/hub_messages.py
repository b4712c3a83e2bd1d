"""What the sites publish, in the hub's database (store/hub_db.py): site messages (camera, door
event, incident, storage) kept once per (site, boot, seq), and the site row's bridge state, health
and inventory. The ingest (hub/ingest.py) writes; the event list and search (hub/events_api.py) read."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vigil.core.district import SiteMessage, SiteTopic
from vigil.core.hub_events import StoredEvent, building_of, headline, like_pattern, site_names
from vigil.store.index import Index
from vigil.store.rows import json_object_or_none


@dataclass(frozen=True)
class SiteRow:
    """What ingest needs of a site."""

    id: str
    name: str
    enrolled: bool  # enrolled and not removed: its messages are taken
    inventory: Mapping[str, Any] | None


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False)


def site_row(c: sqlite3.Connection, site: str) -> SiteRow | None:
    row = c.execute("SELECT id, name, enrolled_wall_ns, removed_wall_ns, inventory FROM sites WHERE id = ?",
                    (site,)).fetchone()
    if row is None:
        return None
    return SiteRow(str(row[0]), str(row[1]), row[2] is not None and row[3] is None, json_object_or_none(row[4]))


@dataclass(frozen=True)
class StoreResult:
    enrolled: bool  # False: the site is not enrolled (any more), nothing was stored
    event: StoredEvent | None  # None: not enrolled, or a duplicate (QoS 1 delivers at least once)


@dataclass(frozen=True)
class SiteTarget:
    """What the hub needs to call a site's API."""

    id: str
    url: str | None
    removed: bool
    evidence_key: str | None
    reachable_hint: bool  # its bridge was not last heard down (search skips those at once)
    https_sha256: str | None = None  # its HTTPS certificate's, as its inventory says (hub/site_calls.py)


def _https_sha256(inventory: str | None) -> str | None:
    value = json_object_or_none(inventory)
    found = value.get("https_sha256") if value is not None else None
    if not isinstance(found, str) or len(found) != 64:
        return None
    try:
        bytes.fromhex(found)
    except ValueError:
        return None
    return found.lower()


def site_target(index: Index, site: str) -> SiteTarget | None:
    rows = index.query("SELECT id, url, removed_wall_ns, evidence_key, bridge_up, inventory FROM sites WHERE id = ?",
                       (site,))
    if not rows:
        return None
    r = rows[0]
    return SiteTarget(str(r[0]), r[1], r[2] is not None, r[3], r[4] != 0, _https_sha256(r[5]))


def site_targets(index: Index, sites: frozenset[str] | None) -> list[SiteTarget]:
    """The enrolled, not removed sites among `sites` (None: all)."""
    rows = index.query("SELECT id FROM sites WHERE enrolled_wall_ns IS NOT NULL AND removed_wall_ns IS NULL"
                       " ORDER BY id")
    found = [site_target(index, str(r[0])) for r in rows if sites is None or str(r[0]) in sites]
    return [t for t in found if t is not None]


def _store_in(c: sqlite3.Connection, message: SiteMessage, received_ns: int,
              sites: dict[str, SiteRow | None]) -> StoreResult:
    if message.site not in sites:
        sites[message.site] = site_row(c, message.site)
    site = sites[message.site]
    if site is None or not site.enrolled:
        return StoreResult(False, None)
    c.execute("UPDATE sites SET last_message_wall_ns = ? WHERE id = ?", (received_ns, message.site))
    building = building_of(message)
    line = headline(message, site_names(site.name, site.inventory))
    cur = c.execute(
        "INSERT OR IGNORE INTO site_messages (site_id, kind, boot, seq, at_wall_ns, received_wall_ns, building,"
        " headline, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (message.site, message.kind.value, message.boot, message.seq, message.at_ns, received_ns, building,
         line, _dumps(message.data)))
    if cur.rowcount == 0:
        return StoreResult(True, None)
    return StoreResult(True, StoredEvent(int(cur.lastrowid or 0), message.site, message.kind.value,
                                         message.at_ns, received_ns, building, line, dict(message.data)))


def store_messages(index: Index, messages: Sequence[SiteMessage], received_ns: int) -> list[StoreResult]:
    """Keep sites' messages, in order and in one transaction, each with its building and headline
    (names from its site's inventory). The site's last_message time moves for a duplicate too."""
    sites: dict[str, SiteRow | None] = {}
    with index.transaction() as c:
        return [_store_in(c, message, received_ns, sites) for message in messages]


def set_bridge(index: Index, site: str, up: bool, now_ns: int) -> bool:
    """The bridge's notification: "1" or "0" (retained, so heard again on every reconnect of the
    hub: the time moves only when the state changes). False when the site is not enrolled."""
    with index.transaction() as c:
        cur = c.execute("UPDATE sites SET bridge_changed_wall_ns = CASE WHEN bridge_up IS ? THEN"
                        " bridge_changed_wall_ns ELSE ? END, bridge_up = ?"
                        " WHERE id = ? AND enrolled_wall_ns IS NOT NULL AND removed_wall_ns IS NULL",
                        (int(up), now_ns, int(up), site))
        return cur.rowcount > 0


def set_retained(index: Index, site: str, kind: SiteTopic, data: Mapping[str, Any], now_ns: int) -> bool:
    """A site's health or inventory (the retained messages). False when the site is not enrolled."""
    column = {SiteTopic.HEALTH: "health", SiteTopic.INVENTORY: "inventory"}[kind]
    with index.transaction() as c:
        cur = c.execute(f"UPDATE sites SET {column} = ?, last_message_wall_ns = ?"  # noqa: S608 - a fixed column
                        " WHERE id = ? AND enrolled_wall_ns IS NOT NULL AND removed_wall_ns IS NULL",
                        (_dumps(data), now_ns, site))
        return cur.rowcount > 0


@dataclass(frozen=True)
class EventFilter:
    # the user's (site, building) scopes; None for all (core.hub_events.event_visible)
    scopes: frozenset[tuple[str, str]] | None
    site: str | None = None
    kinds: Sequence[SiteTopic] = ()
    words: tuple[str, ...] = ()  # each in the headline (core.hub_events.search_words)
    since_ns: int | None = None  # at (the site's clock) >= since
    until_ns: int | None = None  # at < until
    limit: int = 100


def _event(row: sqlite3.Row) -> StoredEvent:
    return StoredEvent(int(row["id"]), str(row["site_id"]), str(row["kind"]), int(row["at_wall_ns"]),
                       int(row["received_wall_ns"]), row["building"], str(row["headline"]),
                       json_object_or_none(row["data"]) or {})


def list_events(index: Index, f: EventFilter) -> list[StoredEvent]:
    """Matching site messages, newest first (by the site's time, then arrival)."""
    clauses: list[str] = []
    params: list[object] = []
    if f.scopes is not None:
        if not f.scopes:
            return []
        sites = sorted({site for site, _ in f.scopes})
        ors = [f"(building IS NULL AND site_id IN ({','.join('?' * len(sites))}))"]
        params += sites
        for site, building in sorted(f.scopes):
            ors.append("(site_id = ? AND building = ?)")
            params += [site, building]
        clauses.append(f"({' OR '.join(ors)})")
    if f.site is not None:
        clauses.append("site_id = ?")
        params.append(f.site)
    if f.kinds:
        clauses.append(f"kind IN ({','.join('?' * len(f.kinds))})")
        params += [k.value for k in f.kinds]
    for word in f.words:
        clauses.append("headline LIKE ? ESCAPE '\\'")
        params.append(like_pattern(word))
    if f.since_ns is not None:
        clauses.append("at_wall_ns >= ?")
        params.append(f.since_ns)
    if f.until_ns is not None:
        clauses.append("at_wall_ns < ?")
        params.append(f.until_ns)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return [_event(r) for r in index.query(
        f"SELECT * FROM site_messages {where} ORDER BY at_wall_ns DESC, id DESC LIMIT ?",  # noqa: S608
        (*params, f.limit))]


def events_in_arrival_order(index: Index, site: str) -> list[StoredEvent]:
    """A site's messages as they arrived (tests and the bench check order and completeness)."""
    return [_event(r) for r in index.query("SELECT * FROM site_messages WHERE site_id = ? ORDER BY id", (site,))]
