"""The sites enrolled with the hub and their one-time enrolment codes (store/hub_db.py's sites,
enrol_codes). Writes take the caller's open transaction; reads take the Index."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from vigil.store.index import Index
from vigil.store.rows import json_object_or_none


@dataclass(frozen=True)
class SiteRow:
    id: str
    name: str
    url: str | None
    cert_serial: str | None
    evidence_key: str | None
    enrolled_ns: int | None
    removed_ns: int | None
    bridge_up: bool | None
    bridge_changed_ns: int | None
    last_message_ns: int | None
    health: dict[str, Any] | None
    inventory: dict[str, Any] | None


@dataclass(frozen=True)
class CodeRow:
    code_id: str
    site_id: str
    site_name: str
    secret: str
    created_by: str
    created_ns: int
    expires_ns: int
    used_ns: int | None


def _site(row: sqlite3.Row) -> SiteRow:
    up = row["bridge_up"]
    return SiteRow(str(row["id"]), str(row["name"]), row["url"], row["cert_serial"], row["evidence_key"],
                   row["enrolled_wall_ns"], row["removed_wall_ns"], None if up is None else bool(up),
                   row["bridge_changed_wall_ns"], row["last_message_wall_ns"], json_object_or_none(row["health"]),
                   json_object_or_none(row["inventory"]))


def _code(row: sqlite3.Row) -> CodeRow:
    return CodeRow(str(row["code_id"]), str(row["site_id"]), str(row["site_name"]), str(row["secret"]),
                   str(row["created_by"]), int(row["created_wall_ns"]), int(row["expires_wall_ns"]),
                   row["used_wall_ns"])


def list_sites(index: Index) -> list[SiteRow]:
    return [_site(r) for r in index.query("SELECT * FROM sites ORDER BY id")]


def get_site(index: Index, site_id: str) -> SiteRow | None:
    rows = index.query("SELECT * FROM sites WHERE id = ?", (site_id,))
    return _site(rows[0]) if rows else None


def site_in(c: sqlite3.Connection, site_id: str) -> SiteRow | None:
    row = c.execute("SELECT * FROM sites WHERE id = ?", (site_id,)).fetchone()
    return _site(row) if row else None


def active_site_ids_in(c: sqlite3.Connection) -> list[str]:
    return [str(r[0]) for r in c.execute("SELECT id FROM sites WHERE removed_wall_ns IS NULL AND enrolled_wall_ns"
                                         " IS NOT NULL ORDER BY id")]


def active_site_ids(index: Index) -> list[str]:
    return [str(r[0]) for r in index.query("SELECT id FROM sites WHERE removed_wall_ns IS NULL AND"
                                           " enrolled_wall_ns IS NOT NULL ORDER BY id")]


def insert_code_in(c: sqlite3.Connection, code_id: str, secret: str, site_id: str, site_name: str,
                   created_by: str, now_ns: int, expires_ns: int) -> bool:
    """False when the code id is taken (the caller draws another)."""
    if c.execute("SELECT 1 FROM enrol_codes WHERE code_id = ?", (code_id,)).fetchone():
        return False
    c.execute("INSERT INTO enrol_codes (code_id, site_id, site_name, secret, created_by, created_wall_ns,"
              " expires_wall_ns) VALUES (?, ?, ?, ?, ?, ?, ?)",
              (code_id, site_id, site_name, secret, created_by, now_ns, expires_ns))
    return True


def code_in(c: sqlite3.Connection, code_id: str) -> CodeRow | None:
    row = c.execute("SELECT * FROM enrol_codes WHERE code_id = ?", (code_id,)).fetchone()
    return _code(row) if row else None


def get_code(index: Index, code_id: str) -> CodeRow | None:
    rows = index.query("SELECT * FROM enrol_codes WHERE code_id = ?", (code_id,))
    return _code(rows[0]) if rows else None


def use_code_in(c: sqlite3.Connection, code_id: str, now_ns: int) -> bool:
    """Mark the code used, once: False if it was used already."""
    return c.execute("UPDATE enrol_codes SET used_wall_ns = ? WHERE code_id = ? AND used_wall_ns IS NULL",
                     (now_ns, code_id)).rowcount > 0


def enrol_site_in(c: sqlite3.Connection, site_id: str, name: str, url: str, cert_serial: str,
                  cert_not_after_ns: int, evidence_key: str | None, now_ns: int) -> None:
    """Enrol (or, after its removal, enrol again) a site: what the hub heard from it before is kept."""
    c.execute("INSERT INTO sites (id, name, url, cert_serial, cert_not_after_wall_ns, evidence_key,"
              " enrolled_wall_ns) VALUES (?, ?, ?, ?, ?, ?, ?)"
              " ON CONFLICT (id) DO UPDATE SET name = excluded.name, url = excluded.url,"
              " cert_serial = excluded.cert_serial, cert_not_after_wall_ns = excluded.cert_not_after_wall_ns,"
              " evidence_key = excluded.evidence_key, enrolled_wall_ns = excluded.enrolled_wall_ns,"
              " removed_wall_ns = NULL",
              (site_id, name, url, cert_serial, cert_not_after_ns, evidence_key, now_ns))


def remove_site_in(c: sqlite3.Connection, site_id: str, now_ns: int) -> bool:
    return c.execute("UPDATE sites SET removed_wall_ns = ? WHERE id = ? AND removed_wall_ns IS NULL",
                     (now_ns, site_id)).rowcount > 0
