"""The README's first command: `vigil demo` records its built-in camera and says where to look."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.support.vigil_proc import ffprobe_video, run_vigil
from vigil.config import load_config
from vigil.store.index import Index


def test_demo_records_and_points_at_the_recordings(tmp_path: Path) -> None:
    result = run_vigil("demo", "--data", str(tmp_path / "demo"), "--duration", "6")
    assert result.returncode == 0, result.stderr
    config = tmp_path / "demo" / "vigil.toml"
    assert f"vigil segments --config {config}" in result.stdout
    assert "recording into" in result.stdout and "stopped; recordings kept" in result.stdout
    # Camera setup (issue 15): a simulated ONVIF camera to add, reachable under the demo's probe networks.
    assert re.search(r"add a camera: Admin -> Cameras, scan 127\.0\.0\.1 \(port \d+\)", result.stdout)
    assert "127.0.0.0/8" in load_config(config).camera_setup.probe_networks
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
    # The map has something to show at once: the sample campus plan with the building and camera on it.
    index = Index.open_readonly(load_config(config).storage.index_path)
    plans = index.query("SELECT id, building_id, content_type, width_px FROM plans")
    assert [tuple(p) for p in plans] == [(plans[0]["id"], None, "image/png", 1200)]
    pins = index.query("SELECT kind, item_id, fov_deg FROM placements WHERE plan_id = ? ORDER BY kind",
                       (plans[0]["id"],))
    assert [tuple(p) for p in pins] == [("building", "demo", None), ("camera", "demo-cam", 70.0),
                                        ("door", "demo-door", None)]
    # Run again on the same data dir: the map is kept as it was, not drawn twice.
    assert run_vigil("demo", "--data", str(tmp_path / "demo"), "--duration", "1").returncode == 0
    assert len(index.query("SELECT id FROM plans")) == 1
