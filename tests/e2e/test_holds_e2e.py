"""Evidence holds against the running daemon and a real RTSP camera: with a tiny retention budget
(the disk is "full" all the time) the held segments survive while unheld ones go oldest first;
once the hold is released over the API, retention lets them go too. The storage report and the
timeline show the hold, and the audit chain records it."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.camsim import CameraServerFactory
from tests.support.http_call import free_port
from tests.support.vigil_proc import VigilProcess, index_of, run_vigil, vigil_stdin, wait_for, write_config
from vigil.core.timebase import wall_ns_to_iso

MAX_BYTES = 300_000  # about four 2 s segments of this noisy camera


class Api:
    def __init__(self, port: int, token: str) -> None:
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 (plain HTTP to our own daemon on loopback)
            self.base + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), json.loads(error.read())



def test_held_segments_survive_a_full_budget_until_released(tmp_path: Path,
                                                            camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=a,width=320,height=240,fps=15,gop=15,bitrate=300,pattern=snow")
    port = free_port()
    config = write_config(tmp_path, {"cam-a": cams.url("a")},
                          f"segment_duration_s = 2\nretention_interval_s = 1\nmax_bytes = {MAX_BYTES}\n"
                          "keep_newest_s = 0\n"  # the budget itself, without keeping each camera's newest minutes
                          f'[http]\nlisten = "127.0.0.1:{port}"\ntls = false')
    c = ("--config", str(config))
    assert vigil_stdin("a long enough password\n", "user", "add", "chief", "--role", "district_admin",
                       "--password-stdin", *c).returncode == 0
    api = Api(port, run_vigil("token", "create", "chief", *c).stdout.strip())
    recordings = tmp_path / "data" / "recordings"
    vigil = VigilProcess(config)
    try:
        wait_for(lambda: len(index_of(config).segments("cam-a")) >= 2, 30, "two segments")
        first, second = index_of(config).segments("cam-a")[:2]
        assert first.end_wall_ns is not None and second.end_wall_ns is not None
        status, created = api.call("POST", "/api/holds", {
            "cameras": ["cam-a"], "start": wall_ns_to_iso(first.start_wall_ns + 1_000_000),
            "end": wall_ns_to_iso(second.end_wall_ns - 1_000_000), "reason": "police request", "case_id": "2026-7"})
        assert status == 201, created
        hold_id = created["holds"][0]["id"]
        held_ids = {first.id, second.id}
        seen: set[int] = set()

        def unheld_deleted(count: int) -> bool:
            ids = {s.id for s in index_of(config).segments("cam-a")}
            seen.update(ids)
            return len(seen - ids) >= count

        wait_for(lambda: unheld_deleted(4), 90, "retention to delete four unheld segments")
        kept = index_of(config).segments("cam-a")
        kept_ids = {s.id for s in kept}
        assert held_ids <= kept_ids, "held segments survive"
        assert all((recordings / s.path).is_file() for s in kept if s.id in held_ids)
        deleted = seen - kept_ids
        assert max(deleted) < min(kept_ids - held_ids), "unheld footage went oldest first"
        # The storage report shows the held bytes apart; the timeline shows the hold over recorded time.
        status, report = api.call("GET", "/api/storage")
        assert status == 200 and report["held_bytes"] >= (first.size_bytes or 0) + (second.size_bytes or 0)
        assert report["cameras"][0]["oldest"] == wall_ns_to_iso(first.start_wall_ns)
        status, timeline = api.call("GET", f"/api/cameras/cam-a/timeline?start={first.start_wall_ns / 1e9 - 5}")
        assert status == 200 and [h["id"] for h in timeline["holds"]] == [hold_id]
        assert timeline["recorded"][0]["start_wall_ns"] == first.start_wall_ns
        # Between the held segments and what is left of the rest: recorded, then deleted by retention.
        assert timeline["gaps"][-1]["reason"] == "deleted", timeline["gaps"]
        # Released: the next rounds delete the formerly held segments (the oldest).
        status, released = api.call("POST", f"/api/holds/{hold_id}/release", {"reason": "case closed"})
        assert status == 200 and released["state"] == "released", released
        wait_for(lambda: not held_ids & {s.id for s in index_of(config).segments("cam-a")}, 30,
                 "retention to delete the released footage")
        assert not any((recordings / s.path).exists() for s in (first, second))
        assert vigil.proc.poll() is None, vigil.log
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
    listed = run_vigil("hold", "list", "--state", "all", *c)
    assert listed.returncode == 0 and "released" in listed.stdout and "police request" in listed.stdout
    storage = run_vigil("storage", *c)
    assert storage.returncode == 0 and "held 0.0 MiB" in storage.stdout, storage.stdout + storage.stderr
    verify = run_vigil("audit", "verify", *c)
    assert verify.returncode == 0, verify.stdout
    audit = index_of(config).query("SELECT action FROM audit WHERE action LIKE 'hold.%' ORDER BY id")
    assert [r[0] for r in audit] == ["hold.create", "hold.release"]
