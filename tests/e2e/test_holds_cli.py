"""`vigil hold` and `vigil storage` without a daemon: add, list, release, audit, bad input."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.vigil_proc import CLI_CONFIG as CONFIG
from tests.support.vigil_proc import run_vigil
from vigil.store.index import Index


def test_hold_add_list_release_and_storage(tmp_path: Path) -> None:
    config = tmp_path / "vigil.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data"))
    c = ("--config", str(config))
    added = run_vigil("hold", "add", "--building", "hs", "--start", "2026-11-01T08:00Z", "--end", "2026-11-01T09:00Z",
                      "--reason", "fight in the cafeteria", "--case-id", "2026-41", *c)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("hold 1: hs-cam")
    listed = run_vigil("hold", "list", "--json", *c)
    [hold] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (hold["camera"], hold["state"], hold["case_id"], hold["start"]) == (
        "hs-cam", "active", "2026-41", "2026-11-01T08:00:00.000Z")
    assert hold["created_by"].startswith("cli:")
    assert run_vigil("hold", "release", "1", "--reason", "case closed", *c).returncode == 0
    again = run_vigil("hold", "release", "1", "--reason", "twice", *c)
    assert again.returncode == 2 and "already released" in again.stderr
    assert run_vigil("hold", "list", *c).stdout == ""  # only active holds by default
    assert "released" in run_vigil("hold", "list", "--state", "released", *c).stdout
    for bad, needle in ((["--camera", "nope"], "no camera 'nope'"), (["--camera", "hs-cam", "--end", "2026-10-01"],
                                                                      "end must be after start")):
        args = ["--start", "2026-11-01", "--end", "2026-11-02", "--reason", "r", *bad]
        result = run_vigil("hold", "add", *args, *c)
        assert result.returncode == 2 and needle in result.stderr, result.stderr
    storage = run_vigil("storage", "--json", *c)
    assert storage.returncode == 0, storage.stderr
    report = json.loads(storage.stdout)
    assert report["held_bytes"] == 0 and report["warning"]["level"] == "ok" and report["disks"][0]["free_bytes"] > 0
    index = Index.open_readonly(tmp_path / "data" / "index.sqlite3")
    audit = index.query("SELECT action, target, detail FROM audit ORDER BY id")
    assert [(r[0], r[1]) for r in audit] == [("hold.create", "hold:1"), ("hold.release", "hold:1")]
    assert json.loads(audit[1][2])["reason"] == "case closed"
    assert run_vigil("audit", "verify", *c).returncode == 0
