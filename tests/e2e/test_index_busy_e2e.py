"""A locked index (issue 12, #6): another process holds `BEGIN EXCLUSIVE` on index.sqlite3 across
several segment boundaries. The daemon must stay up, answer what needs the index with a quick 503
(problem+json, Retry-After) and what does not as usual, keep writing segment files, and index them
in order once the lock is gone; the CLI says the index is locked instead of a traceback."""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from pathlib import Path

from tests.support.camsim import CameraServerFactory
from tests.support.http_call import call, free_port
from tests.support.vigil_proc import VigilProcess, index_of, run_vigil, vigil_stdin, wait_for, write_config
from vigil.core.timebase import wall_ns_to_iso

LOCK_S = 9.0  # spans four 2 s segment boundaries
LONG_LOCK_S = 12.0  # longer than the 10 s busy timeout the index connection used to have
QUICK_S = 3.0  # an answer while the index is locked comes within this, not after a busy timeout
# Sign-in verifies the password (Argon2, about a second on a busy CI machine) before it writes:
# still well below the 10 s busy timeout each request used to wait.
QUICK_LOGIN_S = 6.0
MAX_GAP_NS = 2_000_000_000


def _login(port: int, password: str) -> tuple[int, bytes, dict[str, str], float]:
    started = time.monotonic()
    status, body, headers = call(f"http://127.0.0.1:{port}/api/login", "POST",
                                 json.dumps({"name": "chief", "password": password}).encode(),
                                 {"Content-Type": "application/json"}, timeout_s=30)
    return status, body, headers, time.monotonic() - started


def _assert_quick_503(answer: tuple[int, bytes, dict[str, str], float], within_s: float = QUICK_S) -> None:
    status, body, headers, took_s = answer
    assert status == 503, (status, body)
    assert took_s < within_s, f"answered after {took_s:.1f} s"
    assert headers["Content-Type"].startswith("application/problem+json")
    assert "locked" in json.loads(body)["detail"]
    assert int(headers["Retry-After"]) >= 1


def test_locked_index_neither_stops_recording_nor_hangs_the_api(tmp_path: Path,
                                                                camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=a,width=320,height=240,fps=15,gop=15,bitrate=300")
    port = free_port()
    config = write_config(tmp_path, {"cam-a": cams.url("a")},
                          f'segment_duration_s = 2\n[http]\nlisten = "127.0.0.1:{port}"\ntls = false')
    c = ("--config", str(config))
    password = "a long enough password"
    assert vigil_stdin(f"{password}\n", "user", "add", "chief", "--role", "district_admin", "--password-stdin",
                       *c).returncode == 0
    bearer = {"Authorization": f"Bearer {run_vigil('token', 'create', 'chief', *c).stdout.strip()}"}
    assert vigil_stdin(f"{password}\n", "user", "add", "lenel", "--role", "door_system", "--password-stdin",
                       *c).returncode == 0
    door_system = {"Authorization": f"Bearer {run_vigil('token', 'create', 'lenel', *c).stdout.strip()}",
                   "Content-Type": "application/json"}
    base = f"http://127.0.0.1:{port}"
    index_path = tmp_path / "data" / "index.sqlite3"
    vigil = VigilProcess(config)
    try:
        wait_for(lambda: len(index_of(config).segments("cam-a")) >= 2, 30, "two segments")
        locker = sqlite3.connect(index_path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        locked_ns = time.time_ns()
        try:
            for _ in range(3):  # a listing that audits: the first waits the API's budget, later ones less
                started = time.monotonic()
                status, body, headers = call(f"{base}/api/cameras/cam-a/segments", headers=bearer, timeout_s=30)
                _assert_quick_503((status, body, headers, time.monotonic() - started))
            _assert_quick_503(_login(port, password), QUICK_LOGIN_S)  # sign-in writes a session and its audit entry
            # A door event: stored off the loop, and still answered with a quick 503 its sender retries.
            event = json.dumps({"source": "lenel", "event_id": "e-1", "kind": "access_denied",
                                "occurred_at": wall_ns_to_iso(time.time_ns()), "access_point": "reader-7"}).encode()
            started = time.monotonic()
            status, body, headers = call(f"{base}/api/door-events", "POST", event, door_system, timeout_s=30)
            _assert_quick_503((status, body, headers, time.monotonic() - started))
            # What needs no index write still answers: the public page, and health (reads only).
            assert call(f"{base}/", timeout_s=QUICK_S)[0] == 200
            status, body, _ = call(f"{base}/api/health", headers=bearer, timeout_s=QUICK_S)
            assert status == 200, body
            time.sleep(max(0.0, LOCK_S - (time.time_ns() - locked_ns) / 1e9))
            assert vigil.proc.poll() is None, vigil.log
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        unlocked_ns = time.time_ns()

        def indexed_past_unlock() -> bool:
            return any((s.end_wall_ns or 0) > unlocked_ns + 3_000_000_000 for s in index_of(config).segments("cam-a"))

        wait_for(indexed_past_unlock, 30, "segments after the lock in the index")
        segments = index_of(config).segments("cam-a")
        during = [s for s in segments if locked_ns <= s.start_wall_ns < unlocked_ns]
        assert len(during) >= 3, "the segments written while the index was locked were indexed"
        for before, after in itertools.pairwise(segments):
            assert after.start_wall_ns - (before.end_wall_ns or 0) <= MAX_GAP_NS, (before, after)
        assert [s.id for s in segments] == sorted(s.id for s in segments), "indexed in order"
        assert vigil.proc.poll() is None, vigil.log
        assert _login(port, password)[0] == 200
        assert call(f"{base}/api/cameras/cam-a/segments", headers=bearer)[0] == 200
        assert call(f"{base}/api/door-events", "POST", event, door_system)[0] == 201

        # The CLI against a locked index: a clear error, no traceback.
        locker = sqlite3.connect(index_path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            added = vigil_stdin(f"{password}\n", "user", "add", "deputy", "--role", "district_admin",
                                "--password-stdin", *c)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert added.returncode != 0 and "locked" in added.stderr, added.stderr
        assert "Traceback" not in added.stderr, added.stderr
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
    assert "Traceback" not in vigil.log, vigil.log
    fsck = run_vigil("fsck", *c)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert run_vigil("audit", "verify", *c).returncode == 0


def test_retention_and_camera_events_outlast_a_locked_index(tmp_path: Path, camera_server: CameraServerFactory) -> None:
    """The background writers: retention (deleting all the time under a tiny budget) and the
    camera's ingest thread (the camera goes away during the lock: `camera_down`) meet the lock; the
    daemon stays up, retention deletes again afterwards, and the camera's event reaches the index."""
    cams = camera_server("name=a,width=320,height=240,fps=15,gop=15,bitrate=300,pattern=snow")
    config = write_config(tmp_path, {"cam-a": cams.url("a")},
                          "segment_duration_s = 2\nretention_interval_s = 1\nmax_bytes = 300000\n"
                          "keep_newest_s = 0")  # a tiny budget itself, not the newest minutes rule
    vigil = VigilProcess(config)
    try:
        seen: set[int] = set()

        def deleted_since(ids: set[int]) -> bool:
            segs = {s.id for s in index_of(config).segments("cam-a")}
            seen.update(segs)
            return bool(ids - segs)

        wait_for(lambda: deleted_since(seen) and len(seen) >= 5, 60, "retention at work")
        before = {s.id for s in index_of(config).segments("cam-a")}
        locker = sqlite3.connect(tmp_path / "data" / "index.sqlite3", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        locked_s = time.time()
        try:
            cams.stop()  # the camera goes away: the ingest thread records `camera_down`
            time.sleep(3)
            cams.start()
            time.sleep(max(0.0, LONG_LOCK_S - (time.time() - locked_s)))
            assert vigil.proc.poll() is None, vigil.log
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        unlocked_s = time.time()
        wait_for(lambda: before <= seen and not before & {s.id for s in index_of(config).segments("cam-a")}, 60,
                 "retention to delete the footage of before the lock")
        downs = [e.wall_ns / 1e9 for e in index_of(config).events("cam-a", "camera_down")]
        assert any(locked_s <= t < unlocked_s for t in downs), "the camera event of the locked time indexed"
        assert vigil.proc.poll() is None, vigil.log
        assert "retention: the index is locked" in vigil.log
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
    assert run_vigil("fsck", "--config", str(config)).returncode == 0
