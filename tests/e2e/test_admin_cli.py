"""The installer's command line: first admin, tokens, links, and audit verification with tampering."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.support.vigil_proc import CLI_CONFIG, run_vigil, vigil_stdin


def test_first_admin_tokens_links_and_tamper_evident_audit(tmp_path: Path) -> None:
    config = tmp_path / "vigil.toml"
    config.write_text(CLI_CONFIG.format(data=tmp_path / "data"))
    c = ("--config", str(config))
    added = vigil_stdin("a long enough password\n", "user", "add", "alice", "--role", "district_admin",
                        "--password-stdin", *c)
    assert added.returncode == 0, added.stderr
    short = vigil_stdin("short\n", "user", "add", "bob", "--role", "viewer", "--building", "hs",
                        "--password-stdin", *c)
    assert short.returncode == 2 and "password too short" in short.stderr
    unscoped = vigil_stdin("a long enough password\n", "user", "add", "bob", "--role", "viewer",
                           "--password-stdin", *c)
    assert unscoped.returncode == 2 and "needs at least one --building" in unscoped.stderr
    dup = vigil_stdin("a long enough password\n", "user", "add", "alice", "--role", "viewer", "--building", "hs",
                      "--password-stdin", *c)
    assert dup.returncode == 2 and "already exists" in dup.stderr
    token = run_vigil("token", "create", "alice", *c)
    assert token.returncode == 0 and token.stdout.startswith("vigil_t_")
    link = run_vigil("link", "create", "--camera", "hs-cam", "--reason", "incident 42", "--expires", "2h", *c)
    assert link.returncode == 0, link.stderr
    assert link.stdout.startswith("https://vigil.hs.example:8443/l/vigil_l_")
    too_long = run_vigil("link", "create", "--camera", "hs-cam", "--reason", "x", "--expires", "5d", *c)
    assert too_long.returncode == 2 and "at most 72" in too_long.stderr
    assert run_vigil("link", "revoke", "1", *c).returncode == 0
    assert run_vigil("user", "disable", "alice", *c).returncode == 0
    listing = run_vigil("user", "list", *c)
    assert "alice" in listing.stdout and "disabled" in listing.stdout

    ok = run_vigil("audit", "verify", *c)
    assert ok.returncode == 0 and "audit chain intact: 5 entries" in ok.stdout, ok.stdout
    db = tmp_path / "data" / "index.sqlite3"
    with sqlite3.connect(db) as conn:  # someone edits the reason of the link
        conn.execute("UPDATE audit SET detail = replace(detail, 'incident 42', 'nothing') WHERE id = 3")
    edited = run_vigil("audit", "verify", *c)
    assert edited.returncode == 1
    assert "BROKEN at entry 3: entry 3 was altered" in edited.stdout
    with sqlite3.connect(db) as conn:  # restore, then delete an entry instead
        conn.execute("UPDATE audit SET detail = replace(detail, 'nothing', 'incident 42') WHERE id = 3")
    assert run_vigil("audit", "verify", *c).returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit WHERE id = 2")
    deleted = run_vigil("audit", "verify", *c)
    assert deleted.returncode == 1 and "BROKEN at entry 2: entry 2 is missing" in deleted.stdout
