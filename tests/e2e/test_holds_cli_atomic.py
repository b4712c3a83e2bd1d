"""`vigil hold add|release` commit the change with its audit entry or not at all (issue 13): the
audit write fails in the command's process (a trigger in the index file, tests/support/audit_failure.py),
and neither the hold (or its release) nor the entry remains."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.support.audit_failure import fail_audit_writes_in_file, heal_audit_writes_in_file
from tests.support.vigil_proc import CLI_CONFIG as CONFIG
from tests.support.vigil_proc import run_vigil


def _rows(index: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(index) as conn:
        return list(conn.execute(sql).fetchall())


def _trigger(index: Path, action: str | None) -> None:
    conn = sqlite3.connect(index, isolation_level=None)
    try:
        heal_audit_writes_in_file(conn)
        if action is not None:
            fail_audit_writes_in_file(conn, action)
    finally:
        conn.close()


def test_hold_add_and_release_leave_nothing_when_their_entry_fails(tmp_path: Path) -> None:
    config = tmp_path / "vigil.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data"))
    c = ("--config", str(config))
    index = tmp_path / "data" / "index.sqlite3"
    assert run_vigil("hold", "list", *c).returncode == 0  # makes the index
    add = ("hold", "add", "--camera", "hs-cam", "--start", "2026-11-01T08:00Z", "--end", "2026-11-01T09:00Z",
           "--reason", "fight in the cafeteria", *c)
    _trigger(index, "hold.create")
    failed = run_vigil(*add)
    assert failed.returncode != 0 and "the audit write failed" in failed.stderr, failed.stderr
    assert _rows(index, "SELECT id FROM evidence_holds") == []
    assert _rows(index, "SELECT id FROM audit") == []
    _trigger(index, None)
    added = run_vigil(*add)
    assert added.returncode == 0, added.stderr
    [(hold_id,)] = _rows(index, "SELECT id FROM evidence_holds")
    _trigger(index, "hold.release")
    failed = run_vigil("hold", "release", str(hold_id), "--reason", "case closed", *c)
    assert failed.returncode != 0 and "the audit write failed" in failed.stderr, failed.stderr
    assert _rows(index, "SELECT released_wall_ns FROM evidence_holds") == [(None,)]
    assert [r[0] for r in _rows(index, "SELECT action FROM audit ORDER BY id")] == ["hold.create"]
    _trigger(index, None)
    assert run_vigil("hold", "release", str(hold_id), "--reason", "case closed", *c).returncode == 0
    assert [r[0] for r in _rows(index, "SELECT action FROM audit ORDER BY id")] == ["hold.create", "hold.release"]
    assert run_vigil("audit", "verify", *c).returncode == 0
