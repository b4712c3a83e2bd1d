"""A full recording disk (issue 12, #3): the real daemon on a small tmpfs, with an evidence hold
on every camera so retention cannot make room. The daemon must stay up (no native crash), pause
the camera with reason disk_full and say so in /api/health and `vigil storage`, keep every segment
valid up to its last complete fragment, and resume by itself once space returns."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.camsim import CameraServerFactory
from tests.support.http_call import call, free_port
from tests.support.small_disk import SmallDisk, needs_mount_namespace
from tests.support.vigil_proc import DAEMON_DIR, VigilProcess, ffprobe_video, run_vigil, wait_for, write_config
from vigil.core.timebase import wall_ns_to_iso

pytestmark = [needs_mount_namespace, pytest.mark.slow]

CAMERA = "name=a,width=320,height=240,fps=15,gop=15,bitrate=1500,pattern=snow"
DISK_BYTES = 48 << 20


@dataclass(frozen=True)
class Segment:
    id: int
    path: str
    frame_count: int | None


class FullDisk:
    """The daemon recording one camera onto a SmallDisk, and how the test looks at it."""

    def __init__(self, tmp: Path, disk: SmallDisk, camera_url: str, storage_extra: str = "",
                 min_free_bytes: int | None = 0) -> None:
        self.tmp, self.disk = tmp, disk
        self.port = free_port()
        self.config = write_config(tmp, {"cam-a": camera_url}, "segment_duration_s = 2\nretention_interval_s = 1\n"
                                   + storage_extra + f'\n[http]\nlisten = "127.0.0.1:{self.port}"\ntls = false',
                                   min_free_bytes=min_free_bytes)
        self.data = tmp / "data"
        self.token = ""
        self.vigil: VigilProcess | None = None

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        if stdin is None:
            return run_vigil(*args, "--config", str(self.config), command_prefix=self.disk.command())
        env = {"PYTHONPATH": str(DAEMON_DIR), "PATH": "/usr/bin:/bin"}
        return subprocess.run(self.disk.command(sys.executable, "-m", "vigil", *args, "--config", str(self.config)),
                              input=stdin, capture_output=True, text=True, env=env, check=False, timeout=120)

    def start(self) -> VigilProcess:
        self.vigil = VigilProcess(self.config, command_prefix=self.disk.command())
        return self.vigil

    def query(self, sql: str) -> list[list[Any]]:
        return self.disk.query(self.data / "index.sqlite3", sql)

    def segments(self, state: str = "complete") -> list[Segment]:
        assert state in ("open", "complete")
        rows = self.query("SELECT id, path, frame_count FROM segments WHERE camera_id = 'cam-a'"  # noqa: S608
                          f" AND state = '{state}' ORDER BY start_wall_ns, id")
        return [Segment(int(r[0]), str(r[1]), r[2]) for r in rows]

    def api(self, path: str, method: str = "GET", body: Any = None) -> tuple[int, Any, dict[str, str]]:
        data = None if body is None else json.dumps(body).encode()
        status, raw, headers = call(f"http://127.0.0.1:{self.port}{path}", method, data,
                                    {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
                                    timeout_s=10)
        return status, json.loads(raw) if raw else None, headers

    def api_up(self) -> bool:
        try:
            return self.api("/api/health")[0] == 200
        except urllib.error.URLError:  # not listening yet
            return False

    def health(self) -> dict[str, Any]:
        status, body, _ = self.api("/api/health")
        assert status == 200, body
        return dict(body)

    def alive(self) -> None:
        assert self.vigil is not None
        assert self.vigil.proc.poll() is None, f"daemon exited ({self.vigil.proc.returncode}):\n{self.vigil.log}"

    def file(self, seg: Segment) -> Path:
        return self.disk.path(self.data / "recordings" / seg.path)


def admin(full: FullDisk) -> None:
    added = full.cli("user", "add", "root", "--role", "district_admin", "--password-stdin",
                     stdin="a long enough password\n")
    assert added.returncode == 0, added.stderr
    token = full.cli("token", "create", "root")
    assert token.returncode == 0, token.stderr
    full.token = token.stdout.strip()


def hold_everything(full: FullDisk) -> None:
    now = time.time_ns()
    held = full.cli("hold", "add", "--all-cameras", "--start", wall_ns_to_iso(now - 3600 * 10**9),
                    "--end", wall_ns_to_iso(now + 86_400 * 10**9), "--reason", "case 12-3")
    assert held.returncode == 0, held.stderr


def paused(full: FullDisk) -> bool:
    full.alive()
    return bool(full.health()["cameras"].get("paused", {}).get("cam-a") == "disk_full")


def test_disk_full_with_held_footage_pauses_then_resumes(tmp_path: Path, camera_server: CameraServerFactory) -> None:
    cams = camera_server(CAMERA)
    with SmallDisk(tmp_path / "data", DISK_BYTES) as disk:
        full = FullDisk(tmp_path, disk, cams.url("a"))
        admin(full)
        hold_everything(full)
        vigil = full.start()
        try:
            wait_for(full.api_up, 30, "the API")
            wait_for(lambda: len(full.segments()) >= 2, 40, "two segments")
            reserve = disk.path(full.data / ".vigil-reserve")
            wait_for(reserve.exists, 30, "the reserve beside the index")
            disk.fill("filler", leave_bytes=1 << 20)  # the next few seconds of video fill the disk
            wait_for(lambda: paused(full), 60, "the camera paused with reason disk_full")
            health = full.health()
            assert health["status"] == "degraded" and health["storage"] == "full", health
            assert health["cameras"]["recording"] == 0, health
            time.sleep(5)  # the crash on main came within 2 s of the first ENOSPC, and again after each restart
            full.alive()
            assert "Traceback" not in vigil.log, vigil.log

            # What is on the disk is whole: every segment's file plays up to its last complete fragment.
            segs = full.segments()
            assert len(segs) >= 2
            for seg in segs:
                probe = ffprobe_video(full.file(seg))
                assert int(probe["nb_read_frames"]) == seg.frame_count, (seg, probe)
            assert full.segments(state="open") == [], "the failed segment was closed as far as it is valid"
            fsck = full.cli("fsck")
            assert fsck.returncode == 0 and "0 problems" in fsck.stdout, fsck.stdout + fsck.stderr
            storage = full.cli("storage")
            assert "DISK FULL" in storage.stdout and "cam-a" in storage.stdout, storage.stdout
            assert storage.returncode == 1, storage.stdout

            # The API stays up for the admin, and the index has room to record a hold's release (the
            # reserve beside it was given up when the camera paused: record/reserve.py).
            wait_for(lambda: not reserve.exists(), 30, "the reserve given up")
            holds = full.api("/api/holds")
            assert holds[0] == 200, holds
            hold_id = holds[1][0]["id"]
            status, body, _ = full.api(f"/api/holds/{hold_id}/release", "POST", {"reason": "case closed"})
            assert status == 200, (status, body)
            full.alive()
            # Space comes back; recording resumes by itself.
            newest = segs[-1].id
            disk.path(full.data / "filler").unlink()
            wait_for(lambda: not paused(full), 60, "recording to resume")
            wait_for(lambda: full.segments()[-1].id > newest, 60, "a new segment after the pause")
            wait_for(reserve.exists, 30, "the reserve made again")
            full.alive()
            events = full.query("SELECT reason FROM events WHERE camera_id = 'cam-a' AND kind = 'record_error'")
            assert ["disk_full"] in events, events
            assert vigil.terminate() == 0, vigil.log
        finally:
            vigil.close()
        fsck = full.cli("fsck")
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def test_full_index_disk_keeps_recording_and_answers_503(tmp_path: Path, camera_server: CameraServerFactory) -> None:
    """The index alone on a full disk (recordings elsewhere): SQLite's "database or disk is full"
    must not end the daemon. The recording disk has room, so the camera keeps recording and its
    rows wait in the camera's queue of index writes (store/pending_writes.py); writes that need the
    index now get 503 problem+json; once there is room the queued rows land, in order, and no
    footage written meanwhile is missing from the index."""
    cams = camera_server(CAMERA)
    with SmallDisk(tmp_path / "data", 8 << 20) as disk:
        full = FullDisk(tmp_path, disk, cams.url("a"), f'recordings_path = "{tmp_path / "recordings"}"')
        admin(full)
        vigil = full.start()
        try:
            wait_for(full.api_up, 30, "the API")
            wait_for(lambda: len(full.segments()) >= 1, 40, "a first segment")
            disk.fill("filler")  # every byte: the index cannot grow
            files_before = len(list((tmp_path / "recordings").rglob("*.mp4")))
            now = time.time_ns()
            status, body, headers = full.api("/api/bookmarks", "POST", {
                "camera": "cam-a", "start": wall_ns_to_iso(now - 10**9), "end": wall_ns_to_iso(now),
                "headline": "while the index is full"})
            assert status == 503 and headers["Content-Type"].startswith("application/problem+json"), (status, body)
            assert "full" in body["detail"], body
            wait_for(lambda: len(list((tmp_path / "recordings").rglob("*.mp4"))) >= files_before + 2, 60,
                     "segment files written while the index is full")
            full.alive()
            assert not paused(full) and full.health()["cameras"]["recording"] == 1

            disk.path(full.data / "filler").unlink()
            files = sorted(p.relative_to(tmp_path / "recordings").as_posix()
                           for p in (tmp_path / "recordings").rglob("*.mp4"))
            wait_for(lambda: {s.path for s in full.segments()} >= set(files[:-1]), 60,
                     "the rows written while the index was full")
            status, body, _ = full.api("/api/bookmarks", "POST", {
                "camera": "cam-a", "start": wall_ns_to_iso(now - 10**9), "end": wall_ns_to_iso(now),
                "headline": "after the index had room again"})
            assert status == 201, (status, body)
            assert vigil.terminate() == 0, vigil.log
        finally:
            vigil.close()
        fsck = full.cli("fsck")
        assert fsck.returncode == 0 and "0 problems" in fsck.stdout, fsck.stdout + fsck.stderr


def test_min_free_bytes_larger_than_the_disk_is_refused_and_recent_footage_kept(
        tmp_path: Path, camera_server: CameraServerFactory) -> None:
    """Issue 12, #7: a 200 MB disk with the default min_free_bytes (1 GB). Before, retention deleted
    every segment seconds after it was written while health and `vigil check` said ok."""
    cams = camera_server(CAMERA)
    with SmallDisk(tmp_path / "data", 200 << 20) as disk:
        full = FullDisk(tmp_path, disk, cams.url("a"), min_free_bytes=None)
        check = full.cli("check")
        assert check.returncode == 2, check.stdout + check.stderr
        assert "storage.min_free_bytes" in check.stderr and "cannot hold any footage" in check.stderr, check.stderr
        admin(full)
        vigil = full.start()
        try:
            wait_for(full.api_up, 30, "the API")
            wait_for(lambda: len(full.segments()) >= 6, 60, "six segments")
            time.sleep(3)  # three more retention rounds (1 s apart) over the newest segments
            segs = full.segments()
            assert segs[0].id == 1 and [s.id for s in segs] == list(range(1, len(segs) + 1)), \
                "nothing of the newest minutes deleted"
            for seg in segs:
                assert full.file(seg).is_file()
            health = full.health()
            assert health["status"] == "degraded", health
            budget = health["storage_budget"]
            assert budget["impossible"] and budget["key"] == "storage.min_free_bytes", health
            storage = full.cli("storage")
            assert storage.returncode == 1 and "STORAGE BUDGET IMPOSSIBLE" in storage.stdout, storage.stdout
            assert "storage.min_free_bytes" in storage.stdout
            assert "STORAGE BUDGET IMPOSSIBLE" in vigil.log
            full.alive()
            assert vigil.terminate() == 0, vigil.log
        finally:
            vigil.close()
