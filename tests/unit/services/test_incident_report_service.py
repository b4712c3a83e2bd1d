"""services/incident_report.py and the export worker over a real index: an ended incident's report
is queued with its incident link and audit entries in one transaction, written with its documents
and signed; `vigil verify`'s checks pass, and fail once a document is altered; only who may
declare incidents in the building sees the report."""

from __future__ import annotations

import asyncio
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.audit_failure import count, fail_audit_writes, heal_audit_writes
from tests.support.service_env import NOW, S, appliance, user
from vigil.config import Config
from vigil.core.door_events import DoorEventKind
from vigil.core.door_record import NewDoorEvent
from vigil.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from vigil.core.evidence_check import ProblemKind
from vigil.core.incidents import DeclaredVia
from vigil.core.permissions import Role, UserSubject
from vigil.exports.incident_report import IncidentDocuments
from vigil.exports.jobs import ExportJobs
from vigil.exports.package import exports_dir
from vigil.exports.report_part import IncidentReports
from vigil.exports.verify import verify_package
from vigil.services import exports, incidents
from vigil.services.caller import Caller, Via
from vigil.services.env import ServiceEnv
from vigil.services.incident_report import needs_report, request_report
from vigil.store.door_events import DoorStore
from vigil.store.exports import ExportStore
from vigil.store.incidents import Incidents
from vigil.store.index import Index
from vigil.store.rows import NewBookmark

MS_ADMIN = Caller(UserSubject(4, "ms-admin", Role.BUILDING_ADMIN, frozenset({"ms"})), Via.TOKEN, NOW)


@pytest.fixture
def jobs(config: Config, index: Index) -> Iterator[ExportJobs]:
    yield ExportJobs(config, index, config.storage.path / "key.pem", None, IncidentDocuments(config, index))


def _door(at_ns: int) -> NewDoorEvent:
    return NewDoorEvent("lenel", "e1", "k1", at_ns, at_ns, DoorEventKind.DURESS, None, "ap", None, None, "hs",
                        ("hs-cam",), None, "4321", "Pat", "high", ("duress",), False, None, False)


async def _ended(env: ServiceEnv, drill: bool = False) -> int:
    declared = await incidents.declare(env, user("hs-admin"), building="hs", cameras=[], reason="lockdown",
                                       drill=drill, via=DeclaredVia.API)
    incident_id = declared.incident.id
    DoorStore(env.index).insert(_door(NOW + 5 * S), None, NOW + 5 * S)
    env.index.add_bookmark(NewBookmark("hs-cam", "hs", NOW + 6 * S, NOW + 7 * S, "someone at the door", "user:x"), 0)
    env.audit.append(NOW + 8 * S, "link:1", "link.open", "link:1", "ok", {})
    env.audit.append(NOW + 9 * S, "user:hs-viewer", "playback.clip", "camera:hs-cam", "ok", {})
    with pytest.raises(ConflictError, match="open"):
        await request_report(env, appliance(NOW + 10 * S), None, incident_id)
    await incidents.end(env, user("hs-admin", NOW + 60 * S), incident_id, "all clear")
    return incident_id


async def test_report_is_queued_with_its_link_written_and_verified(env: ServiceEnv, jobs: ExportJobs) -> None:
    incident_id = await _ended(env)
    assert [r.id for r in await env.run(lambda: needs_report(env))] == [incident_id]
    export_id = await request_report(env, appliance(NOW + 61 * S), jobs, incident_id)
    assert Incidents(env.index).get(incident_id).report_export_id == export_id
    assert await env.run(lambda: needs_report(env)) == []
    [report] = env.audit.entries(action="incident.report")
    assert (report.target, report.detail["export"], report.detail["cameras"]) == (f"incident:{incident_id}",
                                                                                   export_id, [])
    row = ExportStore(env.index).get(export_id)
    assert (row.incident_id, row.request.cameras, row.request.case_id) == (incident_id, (), f"incident-{incident_id}")
    jobs._run_one(export_id)  # the worker thread's step, here on the test's
    row = ExportStore(env.index).get(export_id)
    assert row.state == "done", row.error
    package = exports_dir(env.config) / (row.package_name or "")
    verdict = verify_package(package, None)
    assert verdict.ok and verdict.exit_code == 3  # intact; no key given
    assert verdict.summary[0] == f"incident {incident_id} at High School (hs): lockdown"
    with zipfile.ZipFile(package) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        doors = json.loads(zf.read("incident/door_events.json"))
        access = json.loads(zf.read("incident/video_access.json"))
        marks = json.loads(zf.read("incident/bookmarks.json"))
    assert manifest["format"] == "vigil-evidence/1" and manifest["incident"]["note"] == "all clear"
    assert {f["name"] for f in manifest["files"]} == {"incident/incident.json", "incident/door_events.json",
                                                      "incident/bookmarks.json", "incident/video_access.json"}
    assert [e["kind"] for e in doors["door_events"]] == ["duress"]
    assert [a["action"] for a in access["accesses"]] == ["link.open", "playback.clip"]
    assert [b["headline"] for b in marks["bookmarks"]] == ["someone at the door"]
    tampered = _replace(package, "incident/door_events.json", b'{"door_events":[]}\n')
    verdict = verify_package(tampered, None)
    assert [p.kind for p in verdict.problems] == [ProblemKind.FILE_SIZE]


def _replace(package: Path, name: str, data: bytes) -> Path:
    out = package.with_name("tampered.zip")
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, data if info.filename == name else src.read(info.filename))
    return out


async def test_only_who_may_declare_in_the_building_sees_the_report(env: ServiceEnv, jobs: ExportJobs) -> None:
    incident_id = await _ended(env, drill=True)
    with pytest.raises(PermissionDeniedError):
        await request_report(env, user("hs-viewer", NOW + 61 * S), jobs, incident_id)
    with pytest.raises(NotFoundError):
        await request_report(env, user("district", NOW + 61 * S), jobs, incident_id + 1)
    export_id = await request_report(env, user("hs-admin", NOW + 61 * S), jobs, incident_id)
    assert (await exports.export_status(env, user("hs-admin"), export_id)).incident_id == incident_id
    assert (await exports.export_status(env, user("district"), export_id)).id == export_id
    with pytest.raises(PermissionDeniedError):  # no camera, yet not everyone's: the building's
        await exports.export_status(env, MS_ADMIN, export_id)
    assert [r.id for r in await exports.list_exports(env, user("hs-admin"), exports.ExportQuery())] == [export_id]
    assert await exports.list_exports(env, MS_ADMIN, exports.ExportQuery()) == []
    jobs._run_one(export_id)
    row = ExportStore(env.index).get(export_id)
    verdict = verify_package(exports_dir(env.config) / (row.package_name or ""), None)
    assert verdict.ok and verdict.summary[0].startswith("DRILL incident") and verdict.summary[-1].startswith("DRILL")


async def test_the_report_part_queues_on_end_and_at_start(env: ServiceEnv, jobs: ExportJobs) -> None:
    unheard = await _ended(env)  # ended before the part ran: found at its start
    reports = IncidentReports(env, jobs)
    env.incident_listeners.append(reports.on_change)
    task = asyncio.create_task(reports.run())
    try:
        for _ in range(200):
            if unheard in reports.made:
                break
            await asyncio.sleep(0.01)
        assert Incidents(env.index).get(unheard).report_export_id == reports.made[unheard]
        declared = await incidents.declare(env, user("hs-admin", NOW + 100 * S), building="hs", cameras=[],
                                           reason="second", via=DeclaredVia.API)
        assert declared.incident.id not in reports.made
        await incidents.end(env, user("hs-admin", NOW + 160 * S), declared.incident.id, "done")  # heard
        for _ in range(200):
            if declared.incident.id in reports.made:
                break
            await asyncio.sleep(0.01)
        assert ExportStore(env.index).get(reports.made[declared.incident.id]).incident_id == declared.incident.id
        assert len(env.audit.entries(action="incident.report")) == 2  # once each
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_failing_entry_leaves_no_report(env: ServiceEnv, jobs: ExportJobs) -> None:
    incident_id = await _ended(env)
    for action in ("export.create", "incident.report"):
        fail_audit_writes(env.index, action)
        with pytest.raises(Exception, match="the audit write failed"):
            await request_report(env, appliance(NOW + 61 * S), jobs, incident_id)
        assert count(env.index, "SELECT COUNT(*) FROM exports") == 0, action
        assert Incidents(env.index).get(incident_id).report_export_id is None, action
    heal_audit_writes(env.index)
    assert await request_report(env, appliance(NOW + 61 * S), jobs, incident_id) > 0
