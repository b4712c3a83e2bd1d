"""Opening the SQLite index and bringing its schema up to date with numbered migrations.

This package is the only one that opens SQLite. One connection writes (WAL mode); readers
open their own connections."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from vigil.core.errors import IndexStateError

# The hash-chained audit log (store/audit_log.py): the index's, and the district hub's (store/hub_db.py).
AUDIT_DDL = """
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        wall_ns INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL,  -- canonical JSON
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_time ON audit (wall_ns);
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: recordings, runs, events, garbage, evidence holds.
    """
    CREATE TABLE meta (
        db_uuid TEXT NOT NULL,
        created_wall_ns INTEGER NOT NULL
    );
    CREATE TABLE storage_dir (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        dir_uuid TEXT NOT NULL
    );
    -- One run per continuous camera session: segments of a run are contiguous in media time.
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        camera_id TEXT NOT NULL,
        stream TEXT NOT NULL,
        start_wall_ns INTEGER NOT NULL,
        codec TEXT NOT NULL,
        end_wall_ns INTEGER,
        end_reason TEXT
    );
    -- state 'open': the file is being written (the row follows its creation: a file a crash left
    --   without a row is indexed by start-up recovery), or a crash interrupted it;
    -- state 'complete': the file is fsynced (file and dir) and every column is final.
    CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        camera_id TEXT NOT NULL,
        stream TEXT NOT NULL,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        seq INTEGER NOT NULL,
        dir_id INTEGER NOT NULL REFERENCES storage_dir(id),
        path TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL CHECK (state IN ('open', 'complete')),
        start_wall_ns INTEGER NOT NULL,
        end_wall_ns INTEGER,
        media_start_90k INTEGER NOT NULL,
        media_duration_90k INTEGER,
        frame_count INTEGER,
        keyframe_count INTEGER,
        size_bytes INTEGER,
        sha256 TEXT,
        codec TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        cut_reason TEXT,
        recovered INTEGER NOT NULL DEFAULT 0,
        UNIQUE (run_id, seq)
    );
    CREATE INDEX segments_camera_time ON segments (camera_id, start_wall_ns);
    CREATE INDEX segments_time ON segments (start_wall_ns);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        camera_id TEXT,
        kind TEXT NOT NULL,
        wall_ns INTEGER NOT NULL,
        reason TEXT,
        detail TEXT
    );
    CREATE INDEX events_camera_time ON events (camera_id, wall_ns);
    -- Files whose index rows are gone but which may still exist on disk.
    CREATE TABLE garbage (
        id INTEGER PRIMARY KEY,
        dir_id INTEGER NOT NULL REFERENCES storage_dir(id),
        path TEXT NOT NULL,
        queued_wall_ns INTEGER NOT NULL
    );
    CREATE TABLE evidence_holds (
        id INTEGER PRIMARY KEY,
        camera_id TEXT,
        start_wall_ns INTEGER NOT NULL,
        end_wall_ns INTEGER NOT NULL,
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_wall_ns INTEGER NOT NULL,
        until_wall_ns INTEGER,
        released_wall_ns INTEGER
    );
    """,
    # 2: accounts, credentials, responder links, the audit chain.
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        buildings TEXT NOT NULL,  -- JSON list of building ids
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_wall_ns INTEGER NOT NULL
    );
    -- Credentials are stored only as SHA-256 of the (random, 256-bit) token.
    CREATE TABLE credentials (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('session', 'api_token')),
        user_id INTEGER NOT NULL REFERENCES users(id),
        token_sha256 TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        csrf_token TEXT,
        created_wall_ns INTEGER NOT NULL,
        expires_wall_ns INTEGER,
        revoked_wall_ns INTEGER
    );
    CREATE TABLE links (
        id INTEGER PRIMARY KEY,
        token_sha256 TEXT NOT NULL UNIQUE,
        created_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        cameras TEXT NOT NULL,  -- JSON list
        buildings TEXT NOT NULL,  -- JSON list
        live INTEGER NOT NULL,
        playback INTEGER NOT NULL,
        playback_start_wall_ns INTEGER,
        playback_end_wall_ns INTEGER,
        created_wall_ns INTEGER NOT NULL,
        expires_wall_ns INTEGER NOT NULL,
        revoked_wall_ns INTEGER,
        use_count INTEGER NOT NULL DEFAULT 0,
        last_used_wall_ns INTEGER
    );
    """ + AUDIT_DDL,
    # 3: the motion index. Scores are integers in thousandths; heatmaps 16x16 bytes (0-255).
    """
    CREATE TABLE motion_intervals (
        id INTEGER PRIMARY KEY,
        camera_id TEXT NOT NULL,
        start_wall_ns INTEGER NOT NULL,
        end_wall_ns INTEGER NOT NULL,
        peak_milli INTEGER NOT NULL,
        cells BLOB NOT NULL  -- 256-bit mask, big-endian: bit r*16+c = cell (r, c) moved
    );
    CREATE INDEX motion_intervals_camera_time ON motion_intervals (camera_id, start_wall_ns);
    CREATE TABLE motion_seconds (
        camera_id TEXT NOT NULL,
        second INTEGER NOT NULL,  -- Unix seconds
        score_milli INTEGER NOT NULL,
        heatmap BLOB NOT NULL,
        PRIMARY KEY (camera_id, second)
    ) WITHOUT ROWID;
    """,
    # 4: bookmarks (made by people and by flagged door events); holds name a case and who released them.
    """
    CREATE TABLE bookmarks (
        id INTEGER PRIMARY KEY,
        camera_id TEXT,  -- NULL: the bookmark is about every camera of its building
        building_id TEXT,
        start_wall_ns INTEGER NOT NULL,
        end_wall_ns INTEGER NOT NULL,
        headline TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_by TEXT NOT NULL,
        created_wall_ns INTEGER NOT NULL,
        door_event_id INTEGER  -- set when a flagged door event made it
    );
    CREATE INDEX bookmarks_camera_time ON bookmarks (camera_id, start_wall_ns);
    ALTER TABLE evidence_holds ADD COLUMN case_id TEXT;
    ALTER TABLE evidence_holds ADD COLUMN released_by TEXT;
    ALTER TABLE evidence_holds ADD COLUMN door_event_id INTEGER;
    CREATE INDEX evidence_holds_camera_time ON evidence_holds (camera_id, start_wall_ns);
    """,
    # 5: door events (store/door_events.py), adapters' cursors and outage state.
    """
    CREATE TABLE door_events (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        event_id TEXT NOT NULL,
        dedupe_key TEXT NOT NULL UNIQUE,
        occurred_wall_ns INTEGER NOT NULL,  -- the device's clock
        received_wall_ns INTEGER NOT NULL,  -- the appliance's clock
        skew_ns INTEGER NOT NULL,  -- received - occurred
        kind TEXT NOT NULL,
        reason TEXT,
        access_point TEXT,
        door_id TEXT,
        direction TEXT,
        building_id TEXT,
        cameras TEXT NOT NULL,  -- JSON list
        credential_hash TEXT,  -- HMAC-SHA256 under the appliance's door key
        credential_last4 TEXT,
        cardholder TEXT,  -- only when the site opts in
        severity TEXT NOT NULL,
        flagged INTEGER NOT NULL,
        flag_reasons TEXT NOT NULL,  -- JSON list
        unmapped INTEGER NOT NULL,
        raw TEXT,
        raw_truncated INTEGER NOT NULL DEFAULT 0,
        acked_by TEXT,
        acked_wall_ns INTEGER
    );
    CREATE INDEX door_events_time ON door_events (occurred_wall_ns);
    CREATE INDEX door_events_door_time ON door_events (door_id, occurred_wall_ns);
    CREATE INDEX door_events_flagged_time ON door_events (flagged, occurred_wall_ns);
    CREATE TABLE door_adapters (
        source TEXT PRIMARY KEY,
        cursor TEXT,
        down_since_wall_ns INTEGER,  -- NULL: up (or never seen down)
        down_reason TEXT,
        offline_event_id INTEGER,  -- the device_offline event of the current outage
        offline_flagged INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 6: covering indexes for the timeline. A camera-day is ~1440 segment rows; answering from the
    # index alone avoids one table lookup per row (bench/timeline.py). It serves every query
    # segments_camera_time did.
    """
    CREATE INDEX segments_camera_span ON segments (camera_id, start_wall_ns, end_wall_ns, run_id);
    DROP INDEX segments_camera_time;
    CREATE INDEX runs_camera_end ON runs (camera_id, end_wall_ns);
    """,
    # 7: evidence export jobs and their packages.
    """
    CREATE TABLE exports (
        id INTEGER PRIMARY KEY,
        created_by TEXT NOT NULL,
        created_wall_ns INTEGER NOT NULL,
        cameras TEXT NOT NULL,  -- JSON list of camera ids
        start_wall_ns INTEGER NOT NULL,
        end_wall_ns INTEGER NOT NULL,
        reason TEXT NOT NULL,
        case_id TEXT,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
        segments_total INTEGER NOT NULL DEFAULT 0,
        segments_done INTEGER NOT NULL DEFAULT 0,
        bytes_total INTEGER NOT NULL DEFAULT 0,
        bytes_done INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        package_name TEXT,  -- file name under <storage.path>/exports
        package_size_bytes INTEGER,
        manifest_sha256 TEXT,
        finished_wall_ns INTEGER
    );
    """,
    # 8: saved live-wall views, each its owner's alone (store/wall_views.py).
    """
    CREATE TABLE wall_views (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        layout INTEGER NOT NULL CHECK (layout IN (1, 4, 9, 16)),
        cameras TEXT NOT NULL,  -- JSON list: each tile's camera id or null, in reading order
        created_wall_ns INTEGER NOT NULL,
        updated_wall_ns INTEGER NOT NULL,
        UNIQUE (user_id, name)
    );
    """,
    # 9: full-text search over bookmarks and evidence holds (store/text_search.py): one FTS5 table,
    # rowid 2*id for a bookmark and 2*id+1 for a hold; triggers keep it in step with both tables.
    """
    CREATE VIRTUAL TABLE evidence_text USING fts5(
        headline, notes, reason, case_id, tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO evidence_text (rowid, headline, notes)
        SELECT 2 * id, headline, description FROM bookmarks;
    INSERT INTO evidence_text (rowid, reason, case_id)
        SELECT 2 * id + 1, reason, case_id FROM evidence_holds;
    CREATE TRIGGER bookmarks_text_insert AFTER INSERT ON bookmarks BEGIN
        INSERT INTO evidence_text (rowid, headline, notes) VALUES (2 * new.id, new.headline, new.description);
    END;
    CREATE TRIGGER bookmarks_text_update AFTER UPDATE OF id, headline, description ON bookmarks BEGIN
        DELETE FROM evidence_text WHERE rowid = 2 * old.id;
        INSERT INTO evidence_text (rowid, headline, notes) VALUES (2 * new.id, new.headline, new.description);
    END;
    CREATE TRIGGER bookmarks_text_delete AFTER DELETE ON bookmarks BEGIN
        DELETE FROM evidence_text WHERE rowid = 2 * old.id;
    END;
    CREATE TRIGGER holds_text_insert AFTER INSERT ON evidence_holds BEGIN
        INSERT INTO evidence_text (rowid, reason, case_id) VALUES (2 * new.id + 1, new.reason, new.case_id);
    END;
    CREATE TRIGGER holds_text_update AFTER UPDATE OF id, reason, case_id ON evidence_holds BEGIN
        DELETE FROM evidence_text WHERE rowid = 2 * old.id + 1;
        INSERT INTO evidence_text (rowid, reason, case_id) VALUES (2 * new.id + 1, new.reason, new.case_id);
    END;
    CREATE TRIGGER holds_text_delete AFTER DELETE ON evidence_holds BEGIN
        DELETE FROM evidence_text WHERE rowid = 2 * old.id + 1;
    END;
    """,
    # 10: floor plans (the image is kept in the index: its change and audit entry commit
    # together, and a backup of the index carries it) and the pins placed on them.
    """
    CREATE TABLE plans (
        id INTEGER PRIMARY KEY,
        building_id TEXT,  -- NULL: the campus plan
        floor TEXT NOT NULL,
        level INTEGER NOT NULL,
        name TEXT NOT NULL,
        content_type TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg')),
        width_px INTEGER NOT NULL,
        height_px INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        image BLOB NOT NULL,
        created_by TEXT NOT NULL,
        created_wall_ns INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX plans_floor ON plans (ifnull(building_id, ''), floor);
    CREATE TABLE placements (
        id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('camera', 'door', 'building')),
        item_id TEXT NOT NULL,
        x_px REAL NOT NULL,
        y_px REAL NOT NULL,
        rotation_deg REAL NOT NULL,
        fov_deg REAL,
        range_px REAL,
        updated_by TEXT NOT NULL,
        updated_wall_ns INTEGER NOT NULL,
        UNIQUE (plan_id, kind, item_id)
    );
    """,
    # 11: incidents (design/incidents.md): at most one open per building; their joins, holds
    # (evidence_holds.incident_id) and the outbox of their deliveries.
    """
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        building_id TEXT NOT NULL,
        cameras TEXT NOT NULL,  -- JSON list: the cameras held
        whole_building INTEGER NOT NULL,
        reason TEXT NOT NULL,
        drill INTEGER NOT NULL,
        declared_by TEXT NOT NULL,  -- the audit log's actor
        declared_via TEXT NOT NULL,  -- core.incidents.DeclaredVia
        declared_wall_ns INTEGER NOT NULL,
        hold_start_wall_ns INTEGER NOT NULL,
        link_id INTEGER REFERENCES links(id),
        ended_wall_ns INTEGER,
        ended_by TEXT,
        end_note TEXT,
        hold_end_wall_ns INTEGER,
        report_cameras TEXT,  -- JSON list: the cameras whose video the report carries (set at the end)
        report_export_id INTEGER
    );
    CREATE UNIQUE INDEX incidents_open_building ON incidents (building_id) WHERE ended_wall_ns IS NULL;
    CREATE INDEX incidents_declared ON incidents (declared_wall_ns);
    CREATE TABLE incident_joins (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        actor TEXT NOT NULL,
        via TEXT NOT NULL,
        reason TEXT NOT NULL,
        wall_ns INTEGER NOT NULL
    );
    CREATE TABLE incident_deliveries (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        event TEXT NOT NULL CHECK (event IN ('declared', 'ended')),
        recipient TEXT NOT NULL,  -- 'webhook:<name>', 'mqtt', 'email'
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_wall_ns INTEGER,
        last_error TEXT,
        created_wall_ns INTEGER NOT NULL,
        delivered_wall_ns INTEGER
    );
    CREATE INDEX incident_deliveries_pending ON incident_deliveries (state, next_attempt_wall_ns);
    ALTER TABLE evidence_holds ADD COLUMN incident_id INTEGER;
    CREATE INDEX evidence_holds_incident ON evidence_holds (incident_id) WHERE incident_id IS NOT NULL;
    """,
    # 12: an export that is an incident's report names it (who may see it, what documents it carries).
    """
    ALTER TABLE exports ADD COLUMN incident_id INTEGER REFERENCES incidents(id);
    """,
    # 13: the district (design/district.md): each hub token that signed someone in, so that a token
    # starts one session only (a token copied from a browser's history signs nobody in again).
    """
    CREATE TABLE district_sign_ins (
        token_id TEXT PRIMARY KEY,
        hub_user TEXT NOT NULL,
        used_wall_ns INTEGER NOT NULL,
        expires_wall_ns INTEGER NOT NULL
    );
    """,
    # 14: the intercom (design/intercom.md): a responder link may grant talking through its cameras.
    """
    ALTER TABLE links ADD COLUMN talk INTEGER NOT NULL DEFAULT 0;
    """,
    # 15: updates roll back (design/appliance.md, "Updates"): the oldest schema whose vigil may still
    # use this index; migrations are additive, so that stays 1 unless one in BREAKING raises it.
    """
    ALTER TABLE meta ADD COLUMN oldest_reader_schema INTEGER NOT NULL DEFAULT 1;
    """,
)
# Migrations (1-based numbers) that an older vigil cannot read past; none so far, and design/storage.md
# ("Index migrations") says how to avoid one. Each raises meta.oldest_reader_schema to its number.
BREAKING: frozenset[int] = frozenset()


# SQLITE_BUSY, SQLITE_LOCKED: another connection holds a lock we need.
_BUSY_CODES = frozenset({5, 6})


def is_busy(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up waiting for another connection's lock ("database is locked")."""
    code = getattr(error, "sqlite_errorcode", None)
    return (code & 0xFF) in _BUSY_CODES if isinstance(code, int) else "locked" in str(error) or "busy" in str(error)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the settings every user of the index needs."""
    if readonly:
        if not path.exists():
            raise IndexStateError(f"{path}: no index here (has `vigil run` been started with this config?)")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a power cut may lose the last transactions but never corrupts;
        # startup recovery re-indexes any fsynced segment whose row was lost.
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.row_factory = sqlite3.Row
    return conn


def statements(script: str) -> list[str]:
    """A migration's statements, in order. Split at the semicolons that end a statement, not at
    those inside one (a trigger's body): sqlite3.complete_statement says where one ends."""
    done: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                done.append(pending.strip())
            pending = ""
    if pending.strip(" \n;"):
        raise IndexStateError(f"a migration ends inside a statement: {pending.strip()[:80]!r}")
    return done


def migrate(conn: sqlite3.Connection, now_wall_ns: int, migrations: tuple[str, ...] = MIGRATIONS,
            breaking: frozenset[int] = BREAKING) -> int:
    """Apply pending migrations; returns the schema version. Creates the meta row on a new index
    (the first migration of every database we keep makes `meta`: the index's, the hub's).

    An index of a newer schema (a newer vigil ran, then an update rolled back) is used as it is
    when its `oldest_reader_schema` says this version may: every migration since ours was additive."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(migrations):
        oldest = _oldest_reader(conn)
        if oldest is None or oldest > len(migrations):
            raise IndexStateError(
                f"index schema version {version} is newer than this vigil understands ({len(migrations)})"
                + ("" if oldest is None else f" and needs at least {oldest}: a rollback past a breaking migration")
            )
        return version
    for number in range(version, len(migrations)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(migrations[number]):
                conn.execute(statement)
            if number == 0:
                conn.execute("INSERT INTO meta (db_uuid, created_wall_ns) VALUES (?, ?)",
                             (str(uuid.uuid4()), now_wall_ns))
            if number + 1 in breaking:
                conn.execute("UPDATE meta SET oldest_reader_schema = ?", (number + 1,))
            conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(migrations)


def _oldest_reader(conn: sqlite3.Connection) -> int | None:
    try:
        row = conn.execute("SELECT oldest_reader_schema FROM meta").fetchone()
    except sqlite3.OperationalError:  # a database without the column (the hub's)
        return None
    return None if row is None else int(row[0])
