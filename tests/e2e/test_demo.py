"""The README's first command: `vigil demo` records its built-in camera and says where to look."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.support.vigil_proc import ffprobe_video, run_vigil


def test_demo_records_and_points_at_the_recordings(tmp_path: Path) -> None:
    result = run_vigil("demo", "--data", str(tmp_path / "demo"), "--duration", "6")
    assert result.returncode == 0, result.stderr
    config = tmp_path / "demo" / "vigil.toml"
    assert f"vigil segments --config {config}" in result.stdout
    assert "recording into" in result.stdout and "stopped; recordings kept" in result.stdout
    listing = run_vigil("segments", "--config", str(config))
    lines = listing.stdout.splitlines()
    assert listing.returncode == 0 and lines
    probe = ffprobe_video(Path(lines[0].split()[-1]))
    assert probe["codec_name"] == "h264" and probe["width"] == "640"
    assert run_vigil("fsck", "--config", str(config)).returncode == 0
    # The simulated door panel posted its first event through the signed webhook, at the door.
    with sqlite3.connect(tmp_path / "demo" / "index.sqlite3") as db:
        rows = db.execute("SELECT kind, door_id, building_id, unmapped FROM door_events").fetchall()
    assert ("access_granted", "demo-door", "demo", 0) in rows
