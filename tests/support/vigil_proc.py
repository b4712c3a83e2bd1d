"""Run the real `vigil` daemon as a child process for end-to-end tests."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from vigil.core.errors import VigilError
from vigil.store.index import Index
from vigil.store.rows import SegmentRow

DAEMON_DIR = Path(__file__).resolve().parents[2] / "daemon"


def write_config(tmp: Path, cameras: dict[str, str], storage_extra: str = "", camera_extra: str = "",
                 min_free_bytes: int | None = 0) -> Path:
    """A config recording `cameras` (id -> RTSP URL) into tmp/data (min_free_bytes None: the default).

    VIGIL_TEST_INGEST=native (or ffmpeg) sets every camera's `ingest` that `camera_extra` leaves
    unset: the whole suite on one RTSP client (design/ingest.md)."""
    forced = os.environ.get("VIGIL_TEST_INGEST")
    if forced and "ingest" not in camera_extra:
        camera_extra = f'{camera_extra}\ningest = "{forced}"'
    lines = [
        "[storage]", f'path = "{tmp / "data"}"',
        "" if min_free_bytes is None else f"min_free_bytes = {min_free_bytes}", storage_extra,
        "[[buildings]]", 'id = "hs"', 'name = "High School"',
    ]
    for camera_id, url in cameras.items():
        lines += ["[[cameras]]", f'id = "{camera_id}"', 'building = "hs"', f'url = "{url}"', "timeout_s = 3",
                  camera_extra]
    path = tmp / "vigil.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class VigilProcess:
    def __init__(self, config: Path, nofile: int | None = None, command_prefix: Sequence[str] = ()) -> None:
        """`nofile`: the child's RLIMIT_NOFILE, soft and hard (the daemon raises soft to hard);
        `command_prefix`: run the daemon through it (e.g. small_disk.SmallDisk.command's nsenter)."""
        self.config = config
        runs = len(list(config.parent.glob("vigil-*.log")))
        self.log_path = config.parent / f"vigil-{runs}.log"
        self.stderr_file: IO[bytes] = self.log_path.open("wb")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(DAEMON_DIR), env.get("PYTHONPATH")]))
        limit = None if nofile is None else (nofile, nofile)
        self.proc = subprocess.Popen([*command_prefix, sys.executable, "-m", "vigil", "run", "--config", str(config)],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr_file, env=env,
                                     preexec_fn=None if limit is None else (
                                         lambda: resource.setrlimit(resource.RLIMIT_NOFILE, limit)))
        self.started_wall_ns = time.time_ns()

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout_s: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def open_fds(self) -> int:
        return len(list(Path(f"/proc/{self.proc.pid}/fd").iterdir()))

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.stderr_file.close()


def index_of(config: Path) -> Index:
    return Index.open_readonly(config.parent / "data" / "index.sqlite3")


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (VigilError, sqlite3.Error):  # the daemon has not created its index yet
            pass
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def ffprobe_video(path: Path) -> dict[str, str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,codec_tag_string,width,height,nb_read_frames,duration", "-of", "default=nw=1", str(path)],
        capture_output=True, text=True, check=True,
    )
    return dict(line.split("=", 1) for line in out.stdout.split())


def run_vigil(*args: str, command_prefix: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(DAEMON_DIR), env.get("PYTHONPATH")]))
    return subprocess.run([*command_prefix, sys.executable, "-m", "vigil", *args], capture_output=True, text=True,
                          env=env, check=False, timeout=120)


def segments_of(config: Path, camera_id: str) -> list[SegmentRow]:
    return index_of(config).segments(camera_id)

def vigil_stdin(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m vigil ARGS` with STDIN as its input (a password, for instance)."""
    env = dict(os.environ, PYTHONPATH=str(DAEMON_DIR))
    return subprocess.run([sys.executable, "-m", "vigil", *args], input=stdin, capture_output=True, text=True,
                          env=env, check=False, timeout=60)


# One building, one camera nobody serves, a public URL for links: for the command-line tests.
CLI_CONFIG = """
[storage]
path = "{data}"
[[buildings]]
id = "hs"
name = "High School"
[[cameras]]
id = "hs-cam"
building = "hs"
url = "rtsp://127.0.0.1:1/x"
[http]
public_url = "https://vigil.hs.example:8443"
"""
