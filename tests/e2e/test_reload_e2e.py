"""Reload without loss (issue 15, design/cameras.md): the real daemon records 4 simulated cameras;
one reload adds one, changes one's URL and removes one, through the API or by a hand edit and
`vigil reload` (SIGHUP). The untouched camera's segments stay continuous (each starts where the
previous ended, one run, no camera_down), the added camera records within 10 s, the removed one's
last segment is finished and playable (ffprobe), and `vigil fsck` is clean."""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.camsim import CameraServer, CameraServerFactory
from tests.support.http_call import free_port
from tests.support.vigil_proc import VigilProcess, ffprobe_video, index_of, run_vigil, vigil_stdin, wait_for
from vigil.core.audit_chain import AuditEntry
from vigil.store.audit_log import AuditLog
from vigil.store.rows import SegmentRow

CAM = "width=320,height=240,fps=15,gop=15,bitrate=300"
SEGMENT_S = 2
NS = 1_000_000_000
PASSWORD = "cam-secret-do-not-log-91"


def _config(tmp: Path, cams: CameraServer, port: int) -> Path:
    path = tmp / "vigil.toml"
    cameras = {"keep": "a", "change": "b", "remove": "c", "other": "d"}
    text = (f'# the test site\n[storage]\npath = "{tmp / "data"}"\nmin_free_bytes = 0\n'
            f"segment_duration_s = {SEGMENT_S}\n"
            '[[buildings]]\nid = "hs"\nname = "High School"\n')
    for camera_id, mount in cameras.items():
        text += (f'[[cameras]]\nid = "{camera_id}"  # mount {mount}\nbuilding = "hs"\nurl = "{cams.url(mount)}"\n'
                 "timeout_s = 3\n")
    text += f'[http]\nlisten = "127.0.0.1:{port}"\ntls = false\n'
    path.write_text(text)
    path.chmod(0o600)
    return path


def _api(port: int, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def _reloads(config: Path) -> list[AuditEntry]:
    return AuditLog(index_of(config)).entries(action="config.reload")


def _segments(config: Path, camera_id: str) -> list[SegmentRow]:
    return index_of(config).segments(camera_id, state=None)


def _all_recording(config: Path, cameras: tuple[str, ...]) -> bool:
    return all(len(index_of(config).segments(c)) >= 2 for c in cameras)


def _check_after(config: Path, reload_ns: int, vigil: VigilProcess) -> None:
    """What must hold once the daemon stopped, after the reload at `reload_ns`."""
    index = index_of(config)
    keep = index.segments("keep")
    assert all(s.end_wall_ns is not None and s.end_wall_ns > s.start_wall_ns for s in keep)
    assert keep[-1].end_wall_ns is not None and keep[-1].end_wall_ns > reload_ns + 4 * NS, "kept recording"
    assert len({s.run_id for s in keep}) == 1, "the untouched camera was not restarted"
    for before, after in itertools.pairwise(keep):  # no cut, no gap
        assert before.end_wall_ns == after.start_wall_ns, (before, after)
        assert before.media_start_90k + (before.media_duration_90k or 0) == after.media_start_90k
    for camera_id in ("keep", "other"):
        assert [e.kind for e in index.events(camera_id) if e.kind in ("camera_up", "camera_down")] == ["camera_up"]
    added = index.segments("new")
    assert added and added[0].start_wall_ns - reload_ns < 10 * NS, "the added camera records within 10 s"
    changed = index.segments("change")
    assert any(s.start_wall_ns > reload_ns for s in changed), "the changed camera records from its new URL"
    removed = _segments(config, "remove")
    assert removed and all(s.state == "complete" for s in removed), "the removed camera's last segment is finished"
    last = removed[-1]
    assert last.end_wall_ns is not None and last.end_wall_ns <= time.time_ns()
    probe = ffprobe_video(config.parent / "data" / "recordings" / last.path)
    assert probe["codec_name"] == "h264" and int(probe["nb_read_frames"]) == last.frame_count
    fsck = run_vigil("fsck", "--config", str(config))
    assert fsck.returncode == 0, fsck.stdout
    assert PASSWORD not in vigil.log


def test_api_edits_reload_one_camera_at_a_time(tmp_path: Path, camera_server: CameraServerFactory) -> None:
    cams = camera_server(*(f"name={m},{CAM}" for m in ("a", "b", "b2", "c", "d", "e")))
    port = free_port()
    config = _config(tmp_path, cams, port)
    c = ("--config", str(config))
    assert vigil_stdin("a long enough password\n", "user", "add", "chief", "--role", "district_admin",
                       "--password-stdin", *c).returncode == 0
    token = run_vigil("token", "create", "chief", *c).stdout.strip()
    vigil = VigilProcess(config)
    try:
        wait_for(lambda: _all_recording(config, ("keep", "change", "remove", "other")), 40, "4 cameras recording")
        reload_ns = time.time_ns()
        status, body = _api(port, token, "POST", "/api/config/cameras", {
            "id": "new", "building": "hs", "name": "New", "url": cams.url("e"), "username": "u", "password": PASSWORD})
        assert status == 201, body
        assert body["applied"]["added"] == ["new"] and body["applied"]["unchanged"] == 4
        assert body["camera"]["password_set"] is True and PASSWORD not in json.dumps(body)
        status, body = _api(port, token, "PATCH", "/api/config/cameras/change", {"url": cams.url("b2")})
        assert status == 200 and body["applied"]["restarted"] == ["change"], body
        status, body = _api(port, token, "DELETE", "/api/config/cameras/remove")
        assert status == 200 and body["applied"]["removed"] == ["remove"], body
        assert "# the test site" in config.read_text() and "# mount a" in config.read_text()
        wait_for(lambda: len(index_of(config).segments("new")) >= 1, 10 + SEGMENT_S, "the added camera's segment")
        time.sleep(3 * SEGMENT_S)
        status, listed = _api(port, token, "GET", "/api/config/cameras")
        assert [c["id"] for c in listed["cameras"]] == ["keep", "change", "other", "new"]
        status, cameras = _api(port, token, "GET", "/api/cameras")
        assert {c["id"] for c in cameras} == {"keep", "change", "other", "new"}
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
    _check_after(config, reload_ns, vigil)


def test_hand_edit_and_vigil_reload(tmp_path: Path, camera_server: CameraServerFactory) -> None:
    cams = camera_server(*(f"name={m},{CAM}" for m in ("a", "b", "b2", "c", "d", "e")))
    config = _config(tmp_path, cams, free_port())
    vigil = VigilProcess(config)
    try:
        wait_for(lambda: _all_recording(config, ("keep", "change", "remove", "other")), 40, "4 cameras recording")
        text = config.read_text()
        broken = text.replace(cams.url("a"), "http://nowhere/x")
        config.write_text(broken)
        refused = run_vigil("reload", "--config", str(config))  # checked first: nothing is signalled
        assert refused.returncode == 2 and "cameras[0].url" in refused.stderr, refused
        os.kill(vigil.proc.pid, signal.SIGHUP)  # `systemctl reload` of the broken file: refused, audited
        wait_for(lambda: [e.outcome for e in _reloads(config)] == ["error"], 10, "the refused reload's audit entry")
        assert "cameras[0].url" in _reloads(config)[0].detail["error"]
        assert vigil.proc.poll() is None and "reload of" in vigil.log and "nothing changed" in vigil.log
        text = text.replace(cams.url("b"), cams.url("b2"))
        text = text.replace(f'[[cameras]]\nid = "remove"  # mount c\nbuilding = "hs"\nurl = "{cams.url("c")}"\n'
                            "timeout_s = 3\n", "")
        text = text.replace("[http]", f'[[cameras]]\nid = "new"\nbuilding = "hs"\nurl = "{cams.url("e")}"\n[http]')
        config.write_text(text)
        reload_ns = time.time_ns()
        done = run_vigil("reload", "--config", str(config))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "added: new; removed: remove; restarted: change; updated: -; unchanged: 2" in done.stdout, done.stdout
        wait_for(lambda: len(index_of(config).segments("new")) >= 1, 10 + SEGMENT_S, "the added camera's segment")
        time.sleep(3 * SEGMENT_S)
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
    _check_after(config, reload_ns, vigil)
    assert [(e.actor, e.outcome) for e in _reloads(config)] == [("sighup", "error"), ("sighup", "ok")]
    assert not (tmp_path / "data" / "vigil.pid").exists()
    assert run_vigil("reload", "--config", str(config)).stderr.startswith("vigil: no vigil daemon is running here")
