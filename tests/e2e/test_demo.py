"""The README's first command: `vigil demo` records its built-in camera and says where to look."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.vigil_proc import DAEMON_DIR, ffprobe_video, run_vigil, vigil_stdin
from vigil.config import CameraConfig, load_config
from vigil.core.camera_modes import TalkPath
from vigil.core.media import AudioCodec
from vigil.intercom.device import open_talk
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


async def _talk_briefly(camera: CameraConfig) -> AudioCodec:
    sink = await open_talk(camera, timeout_s=10)
    try:
        for _ in range(10):  # 0.2 s of mu-law silence, paced as a microphone would send it
            await sink.send(b"\xff" * 160)
            await asyncio.sleep(0.02)
        assert sink.lost is None
        return sink.codec
    finally:
        await sink.aclose()


def test_the_demo_camera_to_add_answers_a_probe(tmp_path: Path) -> None:
    """The installer flow the demo's banner offers works: its simulated ONVIF camera, probed with the
    user and password the banner names while the demo runs, proposes the demo's not-yet-configured
    stream and reports what that stream really sends. And the demo camera's loudspeaker answers."""
    env = dict(os.environ, PYTHONPATH=str(DAEMON_DIR))
    demo = subprocess.Popen([sys.executable, "-m", "vigil", "demo", "--data", str(tmp_path / "demo"), "--duration",
                             "60"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert demo.stdout is not None
        banner = None
        for line in demo.stdout:
            banner = re.search(r"probe 127\.0\.0\.1:(\d+) as (\S+) / (\S+) ", line)
            if banner is not None:
                break
        assert banner is not None, "the demo never named its camera to add"
        port, user, password = banner.groups()
        probe = vigil_stdin(password + "\n", "cameras", "probe", f"127.0.0.1:{port}", "--username", user,
                            "--password-stdin", "--json", "--config", str(tmp_path / "demo" / "vigil.toml"))
        assert probe.returncode == 0, probe.stderr
        answer = json.loads(probe.stdout)
        proposal = answer["proposal"]
        assert proposal["url"].endswith("/lobby") and proposal["substream_url"].endswith("/lobby-sub")
        main = next(p for p in answer["profiles"] if p["stream_url"] == proposal["url"])
        assert main["received"]["codec"] == "h264" and main["received"]["width"] == 640
        assert password not in probe.stdout + probe.stderr
        # The intercom (issue 18): the demo camera's loudspeaker takes a talk as its configuration says.
        camera = load_config(tmp_path / "demo" / "vigil.toml").cameras[0]
        assert camera.talk is TalkPath.ONVIF
        assert asyncio.run(_talk_briefly(camera)) is AudioCodec.PCMU
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(30)
