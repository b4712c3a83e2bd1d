"""The district hub's own database (design/district.md): its users and sessions, the sites enrolled
with it, one-time enrolment codes, what the sites publish, exports pulled into the district
archive and the hub's audit log. Opened with the index's settings (store/db.py: WAL, one writer)
and numbered migrations of its own."""

from __future__ import annotations

from pathlib import Path

from vigil.store.db import AUDIT_DDL
from vigil.store.index import Index

HUB_MIGRATIONS: tuple[str, ...] = (
    # 1: users, sessions, sites, enrolment, site messages, pulls, audit.
    """
    CREATE TABLE meta (
        db_uuid TEXT NOT NULL,
        created_wall_ns INTEGER NOT NULL
    );
    CREATE TABLE hub_users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('district_admin', 'building_admin', 'viewer')),
        scopes TEXT NOT NULL,  -- JSON list of "<site>/<building>"; [] for district_admin
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_wall_ns INTEGER NOT NULL
    );
    -- Stored only as SHA-256 of the random token, like the appliance's credentials.
    CREATE TABLE hub_sessions (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES hub_users(id),
        token_sha256 TEXT NOT NULL UNIQUE,
        csrf_token TEXT NOT NULL,
        created_wall_ns INTEGER NOT NULL,
        expires_wall_ns INTEGER NOT NULL,
        revoked_wall_ns INTEGER
    );
    -- A site is one building appliance. Removed sites keep their row (and their messages) for
    -- the record; removal drops them from the broker's ACL and refuses their tokens.
    CREATE TABLE sites (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        url TEXT,  -- the appliance's HTTPS base URL, as browsers reach it
        cert_serial TEXT,  -- its bridge certificate (CN = id), signed by the hub's CA
        cert_not_after_wall_ns INTEGER,
        evidence_key TEXT,  -- its evidence signing public key (what `vigil verify --key` pins)
        enrolled_wall_ns INTEGER,
        removed_wall_ns INTEGER,
        bridge_up INTEGER,  -- the bridge's notification: 1, 0 or NULL (never heard)
        bridge_changed_wall_ns INTEGER,
        last_message_wall_ns INTEGER,
        health TEXT,  -- JSON: the retained health message's data
        inventory TEXT  -- JSON: the retained inventory message's data
    );
    CREATE TABLE enrol_codes (
        code_id TEXT PRIMARY KEY,
        site_id TEXT NOT NULL,
        site_name TEXT NOT NULL,
        secret TEXT NOT NULL,  -- needed to check the request's HMAC; useless once used or expired
        created_by TEXT NOT NULL,
        created_wall_ns INTEGER NOT NULL,
        expires_wall_ns INTEGER NOT NULL,
        used_wall_ns INTEGER
    );
    -- What the sites published (not health/inventory/bridge, which update `sites`), in arrival order.
    CREATE TABLE site_messages (
        id INTEGER PRIMARY KEY,
        site_id TEXT NOT NULL,
        kind TEXT NOT NULL,  -- core.district.SiteTopic
        boot TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at_wall_ns INTEGER NOT NULL,  -- the site's clock
        received_wall_ns INTEGER NOT NULL,  -- the hub's
        building TEXT,
        headline TEXT NOT NULL,  -- one line, for lists and text search
        data TEXT NOT NULL,  -- JSON
        UNIQUE (site_id, boot, seq)  -- QoS 1 may deliver twice: once is kept
    );
    CREATE INDEX site_messages_at ON site_messages (at_wall_ns);
    CREATE INDEX site_messages_site_kind ON site_messages (site_id, kind, at_wall_ns);
    -- Exports pulled from sites into the district archive, each verified on arrival.
    CREATE TABLE pulls (
        id INTEGER PRIMARY KEY,
        site_id TEXT NOT NULL,
        export_id INTEGER NOT NULL,
        requested_by TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'verified', 'failed')),
        path TEXT,
        sha256 TEXT,
        bytes INTEGER,
        error TEXT,
        created_wall_ns INTEGER NOT NULL,
        finished_wall_ns INTEGER
    );
    -- The hub's audit log (sign-ins, tokens issued, enrolments, removals, user changes, pulls) is
    -- the appliance's chained table: store/audit_log.append_in writes both.
    """ + AUDIT_DDL,
)


def open_hub_db(path: Path, now_wall_ns: int) -> Index:
    """The hub's database at `path`, made or migrated (one writer connection, one reader)."""
    return Index.open(path, now_wall_ns, HUB_MIGRATIONS)
