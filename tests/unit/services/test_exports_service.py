"""services/exports.py and the export worker's writes over a real index: every camera must be
exportable by the caller; the export, the holds on its originals and their audit entries commit
together, and so do an export's outcome and its entry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.audit_failure import count, fail_audit_writes
from tests.support.index_rows import record
from tests.support.service_env import NOW, S, user
from vigil.config import Config
from vigil.core.errors import BadRequestError, ConflictError, PermissionDeniedError, UnavailableError
from vigil.core.export_request import ExportRequest
from vigil.core.timebase import wall_ns_to_iso
from vigil.exports.jobs import ExportJobs
from vigil.exports.package import exports_dir
from vigil.services import exports
from vigil.services.env import ServiceEnv
from vigil.store.exports import ExportStore
from vigil.store.index import Index

T0 = NOW - 3600 * S
BODY = {"cameras": ["hs-cam"], "start": wall_ns_to_iso(T0), "end": wall_ns_to_iso(T0 + 120 * S),
        "reason": "incident 42", "case_id": "42"}


@pytest.fixture
def jobs(config: Config, index: Index) -> Iterator[ExportJobs]:
    record(index, "hs-cam", T0, [60, 60], "shutdown")  # rows only: a package cannot be made of them
    record(index, "ms-cam", T0, [60, 60], "shutdown")
    yield ExportJobs(config, index, config.storage.path / "key.pem")  # no worker thread: exports stay queued


async def test_create_holds_the_originals_and_audits_both(env: ServiceEnv, jobs: ExportJobs) -> None:
    row = await exports.create_export(env, user("hs-admin"), jobs, BODY)
    assert (row.state, row.created_by, row.request.cameras) == ("queued", "user:hs-admin", ("hs-cam",))
    [hold] = env.index.holds()
    assert (hold.camera_id, hold.start_wall_ns, hold.end_wall_ns, hold.until_wall_ns) == (
        "hs-cam", T0, T0 + 120 * S, None)
    log = [(e.actor, e.action, e.detail) for e in env.audit.entries()]
    assert [(a, act) for a, act, _ in log] == [("user:hs-admin", "hold.create"), ("user:hs-admin", "export.create")]
    assert log[0][2]["export"] == row.id and log[0][2]["reason"] == f"export {row.id}: incident 42"
    assert log[1][2] == {"cameras": ["hs-cam"], "start": BODY["start"], "end": BODY["end"], "start_ns": T0,
                         "end_ns": T0 + 120 * S, "reason": "incident 42", "case_id": "42", "via": "token",
                         "remote": "192.0.2.7"}


async def test_one_camera_the_caller_may_not_export_refuses_all(env: ServiceEnv, jobs: ExportJobs) -> None:
    with pytest.raises(PermissionDeniedError):
        await exports.create_export(env, user("hs-admin"), jobs, BODY | {"cameras": ["hs-cam", "ms-cam"]})
    with pytest.raises(PermissionDeniedError):  # decided before the rest of the body is looked at
        await exports.create_export(env, user("hs-admin"), jobs, {"buildings": ["ms"]})
    with pytest.raises(UnavailableError):
        await exports.create_export(env, user("hs-admin"), None, BODY)
    assert count(env.index, "SELECT COUNT(*) FROM exports") == 0
    row = await exports.create_export(env, user("district"), jobs, BODY | {"buildings": ["ms"]})
    with pytest.raises(PermissionDeniedError):
        await exports.export_status(env, user("hs-admin"), row.id)
    assert (await exports.export_status(env, user("district"), row.id)).request.cameras == ("hs-cam", "ms-cam")


async def test_download_only_when_done_and_audited(env: ServiceEnv, jobs: ExportJobs) -> None:
    row = await exports.create_export(env, user("hs-admin"), jobs, BODY)
    with pytest.raises(ConflictError, match="queued"):
        await exports.download(env, user("hs-admin"), row.id)
    ExportStore(env.index).finish(row.id, "pkg.zip", 3, "ab" * 32, NOW)
    with pytest.raises(ConflictError, match="no longer on the appliance"):
        await exports.download(env, user("hs-admin"), row.id)
    exports_dir(env.config).mkdir(parents=True, exist_ok=True)
    (exports_dir(env.config) / "pkg.zip").write_bytes(b"zip")
    package = await exports.download(env, user("hs-admin"), row.id)
    assert package.path.read_bytes() == b"zip" and package.row.manifest_sha256 == "ab" * 32
    [entry] = env.audit.entries(action="export.download")
    assert (entry.actor, entry.target, entry.detail["size_bytes"]) == ("user:hs-admin", f"export:{row.id}", 3)


async def test_a_failing_entry_leaves_no_export_and_no_hold(env: ServiceEnv, jobs: ExportJobs) -> None:
    for action in ("hold.create", "export.create"):
        fail_audit_writes(env.index, action)
        with pytest.raises(Exception, match="the audit write failed"):
            await exports.create_export(env, user("hs-admin"), jobs, BODY)
        assert count(env.index, "SELECT COUNT(*) FROM exports") == 0, action
        assert count(env.index, "SELECT COUNT(*) FROM evidence_holds") == 0, action
        assert env.audit.entries() == [], action


async def test_an_outcome_whose_entry_fails_is_not_recorded(env: ServiceEnv, jobs: ExportJobs) -> None:
    """The export fails (its segment files do not exist); the `export.failed` entry cannot be
    written: the export is not marked failed without it (the next start marks it interrupted)."""
    row = await exports.create_export(env, user("hs-admin"), jobs, BODY)
    fail_audit_writes(env.index, "export.failed")
    with pytest.raises(Exception, match="the audit write failed"):
        jobs._run_one(row.id)  # what the worker thread runs for one export
    assert ExportStore(env.index).get(row.id).state == "running"
    assert env.audit.entries(action="export.failed") == []


async def test_a_listing_shows_each_export_to_who_may_export_all_its_cameras(env: ServiceEnv,
                                                                            jobs: ExportJobs) -> None:
    hs = await exports.create_export(env, user("hs-admin"), jobs, BODY)
    both = await exports.create_export(env, user("district"), jobs, BODY | {"cameras": ["hs-cam", "ms-cam"]})
    ms = await exports.create_export(env, user("district"), jobs, BODY | {"cameras": ["ms-cam"]})
    gone = ExportStore(env.index).create(  # a camera since removed from the configuration
        ExportRequest(("old-cam",), T0, T0 + 60 * S, "before the camera was removed", None), "user:district", NOW)
    listed = {who: [r.id for r in await exports.list_exports(env, user(who), exports.ExportQuery())]
              for who in ("district", "hs-admin")}
    assert listed == {"district": [gone, ms.id, both.id, hs.id], "hs-admin": [hs.id]}
    assert [r.id for r in await exports.list_exports(env, user("district"), exports.ExportQuery(limit=2))] == [
        gone, ms.id]
    assert await exports.list_exports(env, user("district"), exports.ExportQuery(state="done")) == []
    with pytest.raises(BadRequestError, match="state must be"):
        exports.ExportQuery(state="finished")
    with pytest.raises(BadRequestError, match="limit"):
        exports.ExportQuery(limit=0)
