"""`vigil cameras probe|scan` from the shell: the same services, the password from stdin only."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.integration.camera_setup.conftest import Running, streams_for
from tests.support.camsim import DAEMON_DIR, CameraServer
from vigil.sim.onvif_device import OnvifDevice


async def vigil(*args: str, stdin: str = "") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vigil", *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(DAEMON_DIR)))
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def config(tmp_path: Path) -> Path:
    path = tmp_path / "vigil.toml"
    path.write_text(f'[storage]\npath = "{tmp_path / "data"}"\n[[buildings]]\nid = "hs"\nname = "HS"\n'
                    '[camera_setup]\nprobe_networks = ["127.0.0.0/8"]\n')
    return path


async def test_probe_and_scan_from_the_shell(tmp_path: Path, cams: CameraServer, device_factory: object) -> None:
    running: Running = await device_factory(OnvifDevice("axis", streams=streams_for(cams)))  # type: ignore[operator]
    cfg = str(config(tmp_path))
    code, out, err = await vigil("cameras", "probe", f"127.0.0.1:{running.port}", "--username", "admin",
                                 "--password-stdin", "--json", "--snapshot", str(tmp_path / "snap.jpg"),
                                 "--config", cfg, stdin="secret\n")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["proposal"]["url"] == cams.url("main") and "secret" not in out
    assert (tmp_path / "snap.jpg").read_bytes()[:2] == b"\xff\xd8"
    code, out, err = await vigil("cameras", "probe", f"127.0.0.1:{running.port}", "--username", "admin",
                                 "--password-stdin", "--config", cfg, stdin="wrong\n")
    assert code == 2 and "refused the ONVIF user name or password" in err
    code, out, err = await vigil("cameras", "scan", "127.0.0.1", "--port", str(running.port), "--config", cfg)
    assert code == 0 and out.startswith(f"127.0.0.1:{running.port}\t"), err
