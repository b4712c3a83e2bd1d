"""Incident reports from the real daemon recording simulated cameras (issue 16): an incident is
declared (as `vigil incident start` does: the services over the index, as the appliance), its
responder link is opened and fetches a clip, a door event is posted and a bookmark made; it ends
with a report camera; the report, asked for over the API, finishes as a signed export that
`vigil verify` (a subprocess) passes and names the incident, whose signature OpenSSL checks on
its own, and which fails verification once its door events are altered. A drill ended while the
daemon did not hear of it gets its report when the daemon starts again, and the report says DRILL."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.camsim import CameraServer
from tests.support.http_call import call, free_port
from tests.support.vigil_proc import VigilProcess, index_of, run_vigil, vigil_stdin, wait_for
from vigil.config import load_config
from vigil.config.live import LiveConfig
from vigil.core.evidence_manifest import MANIFEST_NAME, SIGNATURE_NAME
from vigil.core.incidents import DeclaredVia, link_token
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.services import incidents
from vigil.services.caller import Caller, Via
from vigil.services.env import ServiceEnv
from vigil.store.incidents import Incidents
from vigil.store.index import Index

CONFIG = """
[storage]
path = "{data}"
min_free_bytes = 0
segment_duration_s = 2
[http]
listen = "127.0.0.1:{port}"
tls = false
[incidents]
lookback_s = 4
tail_s = 2
[[buildings]]
id = "hs"
name = "High School"
[[buildings]]
id = "ms"
name = "Middle School"
[[cameras]]
id = "hs-cam"
building = "hs"
name = "East Entrance"
url = "{hs_url}"
timeout_s = 3
[[cameras]]
id = "ms-cam"
building = "ms"
url = "{ms_url}"
timeout_s = 3
[[doors]]
id = "east-main"
building = "hs"
cameras = ["hs-cam"]
access_points = [{{ source = "lenel", id = "reader-7", direction = "in" }}]
"""


@dataclass
class Appliance:
    base_url: str
    tokens: dict[str, str]
    config: Path
    tmp: Path
    vigil: VigilProcess

    def call(self, method: str, path: str, who: str | None, body: Any = None,
             bearer: str | None = None) -> tuple[int, bytes, Any]:
        headers = {"Content-Type": "application/json"}
        token = bearer or (self.tokens[who] if who is not None else None)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        return call(self.base_url + path, method, data, headers, timeout_s=30)

    def json(self, method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        status, raw, _ = self.call(method, path, who, body)
        return status, json.loads(raw)

    def as_cli(self, work: Any) -> Any:
        """Run `work(env, caller)` as `vigil incident ...` would: the services over the daemon's index."""
        async def run() -> Any:
            index = Index.open(self.tmp / "data" / "index.sqlite3", time.time_ns())
            env = ServiceEnv(LiveConfig(load_config(self.config)), index)
            try:
                return await work(env, Caller(None, Via.CLI, time.time_ns(), name="cli:test"))
            finally:
                env.close()
                index.close()
        return asyncio.run(run())


def _add_user(config: Path, name: str, role: str, *buildings: str) -> str:
    extra = [a for b in buildings for a in ("--building", b)]
    added = vigil_stdin("incident test password\n", "user", "add", name, "--role", role, *extra,
                        "--password-stdin", "--config", str(config))
    assert added.returncode == 0, added.stderr
    made = run_vigil("token", "create", name, "--config", str(config))
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Appliance]:
    tmp = tmp_path_factory.mktemp("incident-report")
    port = free_port()
    with CameraServer("name=a,width=320,height=240,fps=15,gop=15,bitrate=300,pattern=smpte",
                      "name=b,width=320,height=240,fps=15,gop=15,bitrate=300,pattern=smpte") as cams:
        config = tmp / "vigil.toml"
        config.write_text(CONFIG.format(data=tmp / "data", port=port, hs_url=cams.url("a"), ms_url=cams.url("b")))
        tokens = {"root": _add_user(config, "root", "district_admin"),
                  "hs-admin": _add_user(config, "hs-admin", "building_admin", "hs"),
                  "hs-viewer": _add_user(config, "hs-viewer", "viewer", "hs"),
                  "lenel": _add_user(config, "lenel", "door_system")}
        app = Appliance(f"http://127.0.0.1:{port}", tokens, config, tmp, VigilProcess(config))
        try:
            wait_for(lambda: _listening(app), 30, "the API")
            wait_for(lambda: len(index_of(config).segments("hs-cam")) >= 3, 60, "recorded segments")
            yield app
            assert app.vigil.terminate() == 0, app.vigil.log
        finally:
            app.vigil.close()


def _listening(app: Appliance) -> bool:
    assert app.vigil.proc.poll() is None, app.vigil.log
    try:
        return app.call("GET", "/api/health", "root")[0] == 200
    except OSError:  # not listening yet
        return False


def _fingerprint(app: Appliance) -> str:
    shown = run_vigil("key", "show", "--config", str(app.config))
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.rsplit(":", 1)[1].strip()


def _wait_done(app: Appliance, export_id: int, who: str) -> dict[str, Any]:
    def done() -> bool:
        status, row = app.json("GET", f"/api/exports/{export_id}", who)
        assert status == 200 and row["state"] != "failed", row
        return bool(row["state"] == "done")

    wait_for(done, 90, f"report export {export_id}")
    return app.json("GET", f"/api/exports/{export_id}", who)[1]  # type: ignore[no-any-return]


def _download(app: Appliance, row: dict[str, Any], who: str, name: str) -> Path:
    status, raw, _ = app.call("GET", row["download"], who)
    assert status == 200 and len(raw) == row["size_bytes"]
    path = app.tmp / name
    path.write_bytes(raw)
    return path


def _documents(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        return {n: json.loads(zf.read(n)) for n in zf.namelist() if n.endswith(".json")}


def test_report_of_an_incident_verifies_and_names_it(appliance: Appliance) -> None:
    app = appliance
    declared = app.as_cli(lambda env, caller: incidents.declare(env, caller, building="hs", cameras=[],
                                                                reason="forced entrance", via=DeclaredVia.CLI))
    incident_id = declared.incident.id
    key = app.as_cli(lambda env, caller: asyncio.to_thread(env.link_key))
    token = link_token(key, incident_id)
    status, _, _ = app.call("GET", f"/l/{token}", None)  # the responder opens the link (link.open)
    assert status == 200
    wait_for(lambda: len([s for s in index_of(app.config).segments("hs-cam")
                          if s.start_wall_ns >= declared.incident.declared_wall_ns]) >= 2, 30, "footage after it")
    start = wall_ns_to_iso(declared.incident.declared_wall_ns)
    end = wall_ns_to_iso(declared.incident.declared_wall_ns + 2 * NS_PER_SECOND)
    status, clip, _ = app.call("GET", f"/api/cameras/hs-cam/clip.mp4?start={start}&end={end}", None, bearer=token)
    assert status == 200 and clip[4:8] == b"ftyp"  # the responder fetches a clip (playback.clip, link.use)
    occurred = time.time_ns() - NS_PER_SECOND
    status, raw, _ = app.call("POST", "/api/door-events", "lenel", {
        "source": "lenel", "event_id": "onguard-1", "kind": "door_forced_open", "occurred_at": wall_ns_to_iso(occurred),
        "access_point": "reader-7", "reason": "forced"})
    assert status == 201, raw
    status, mark = app.json("POST", "/api/bookmarks", "hs-admin", {
        "camera": "hs-cam", "start": wall_ns_to_iso(occurred), "headline": "door forced, two people"})
    assert status == 201, mark
    status, raw, _ = app.call("POST", f"/api/incidents/{incident_id}/report", "hs-admin")
    assert status == 409, raw  # still open
    app.as_cli(lambda env, caller: incidents.end(env, caller, incident_id, "police on site, building cleared",
                                                 ["hs-cam"]))
    status, raw, _ = app.call("POST", f"/api/incidents/{incident_id}/report", "hs-viewer")
    assert status == 403, raw
    answers: list[tuple[int, bytes]] = []

    def asked() -> bool:  # 409 with Retry-After while the tail is still being recorded
        status, raw, headers = app.call("POST", f"/api/incidents/{incident_id}/report", "hs-admin")
        answers.append((status, raw))
        assert status in (202, 409), raw
        assert status == 202 or int(headers["Retry-After"]) > 0
        return status == 202

    wait_for(asked, 60, "the report to be accepted", interval_s=1.0)
    export_id = json.loads(answers[-1][1])["export_id"]
    assert index_of(app.config).query("SELECT report_export_id FROM incidents WHERE id = ?",
                                      (incident_id,))[0][0] == export_id
    row = _wait_done(app, export_id, "hs-admin")
    assert row["incident"] == incident_id and row["cameras"] == ["hs-cam"]
    assert app.call("GET", f"/api/exports/{export_id}", "hs-viewer")[0] == 403
    path = _download(app, row, "hs-admin", "report.zip")
    fingerprint = _fingerprint(app)
    verified = run_vigil("verify", str(path), "--key", fingerprint)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"INCIDENT incident {incident_id} at High School (hs): forced entrance" in verified.stdout
    assert "note: police on site, building cleared" in verified.stdout and "DRILL" not in verified.stdout
    docs = _documents(path)
    manifest = docs[MANIFEST_NAME]
    assert manifest["format"] == "vigil-evidence/1" and manifest["incident"]["drill"] is False
    assert manifest["incident"]["declared_by"] == "cli:test" and manifest["incident"]["building_name"] == "High School"
    assert manifest["cameras"][0]["clip"]["file"] == "hs-cam.mp4" and manifest["segments"]
    assert manifest["range"]["start_wall_ns"] == declared.incident.hold_start_wall_ns
    assert [e["event_id"] for e in docs["incident/door_events.json"]["door_events"]] == ["onguard-1"]
    assert "door forced, two people" in [b["headline"] for b in docs["incident/bookmarks.json"]["bookmarks"]]
    actions = [a["action"] for a in docs["incident/video_access.json"]["accesses"]]
    assert "link.open" in actions and "playback.clip" in actions and any(a.startswith("link.use ") for a in actions)
    assert docs["incident/incident.json"]["incident"]["report_cameras"] == ["hs-cam"]
    # OpenSSL alone checks the signature over the manifest's bytes, with the appliance's key.
    pem = app.tmp / "appliance.pub.pem"
    pem.write_text(manifest["signing_key"]["public_key_pem"])
    with zipfile.ZipFile(path) as zf:
        (app.tmp / "manifest.json").write_bytes(zf.read(MANIFEST_NAME))
        (app.tmp / "manifest.json.sig").write_bytes(zf.read(SIGNATURE_NAME))
    openssl = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin", "-in",
                              str(app.tmp / "manifest.json"), "-sigfile", str(app.tmp / "manifest.json.sig")],
                             capture_output=True, text=True, check=False)
    assert openssl.returncode == 0 and "Verified Successfully" in openssl.stdout, openssl.stdout + openssl.stderr
    # Altering the door events (one fewer) fails verification, naming the file.
    tampered = app.tmp / "tampered.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "incident/door_events.json":
                data = data.replace(b'"onguard-1"', b'"onguard-2"')
            dst.writestr(info, data)
    failed = run_vigil("verify", str(tampered), "--key", fingerprint)
    assert failed.returncode == 1, failed.stdout
    assert "FAIL file_hash: incident/door_events.json" in failed.stdout


def test_a_drill_ended_unheard_gets_its_report_at_start(appliance: Appliance) -> None:
    app = appliance
    declared = app.as_cli(lambda env, caller: incidents.declare(env, caller, building="hs", cameras=[],
                                                                reason="lockdown drill", drill=True,
                                                                via=DeclaredVia.CLI))
    incident_id = declared.incident.id
    app.as_cli(lambda env, caller: incidents.end(env, caller, incident_id, "drill over"))
    assert app.vigil.terminate() == 0, app.vigil.log  # it never heard of the end
    app.vigil.close()
    app.vigil = VigilProcess(app.config)
    wait_for(lambda: _listening(app), 30, "the API again")
    wait_for(lambda: Incidents(index_of(app.config)).get(incident_id).report_export_id is not None, 60,
             "the report queued at start")
    export_id = Incidents(index_of(app.config)).get(incident_id).report_export_id
    assert export_id is not None
    row = _wait_done(app, export_id, "root")
    assert row["cameras"] == [] and row["incident"] == incident_id
    path = _download(app, row, "root", "drill.zip")
    verified = run_vigil("verify", str(path), "--key", _fingerprint(app))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"INCIDENT DRILL incident {incident_id} at High School" in verified.stdout
    assert "INCIDENT DRILL: this incident was a drill" in verified.stdout
    assert _documents(path)["incident/incident.json"]["drill"] is True
