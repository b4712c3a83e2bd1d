"""services/holds.py over a real index: who may place, see and release holds; each change with
its audit entry in one transaction; the CLI caller acts as the appliance."""

from __future__ import annotations

import pytest

from tests.support.audit_failure import count, fail_audit_writes
from tests.support.service_env import NOW, S, user
from vigil.core.errors import BadRequestError, ConflictError, NotFoundError, PermissionDeniedError
from vigil.core.holds import HoldRequest, make_hold
from vigil.services import holds
from vigil.services.caller import cli_caller
from vigil.services.env import ServiceEnv
from vigil.services.holds import HoldQuery, HoldState

T0 = NOW - 3600 * S
CAMERA_BUILDINGS = {"hs-cam": "hs", "ms-cam": "ms"}


def request(cameras: list[str] | None = None, *, buildings: list[str] | None = None, all_cameras: bool = False,
            until_ns: int | None = None) -> HoldRequest:
    return make_hold(cameras=cameras or [], buildings=buildings or [], all_cameras=all_cameras, start_ns=T0,
                     end_ns=T0 + 600 * S, reason="police request", case_id="2026-118", until_ns=until_ns,
                     camera_buildings=CAMERA_BUILDINGS, known_buildings={"hs", "ms"}, now_ns=NOW)


def entries(env: ServiceEnv, action: str) -> list[tuple[str, str, str, dict[str, object]]]:
    return [(e.actor, e.target, e.outcome, e.detail) for e in env.audit.entries(action=action)]


async def test_each_hold_is_placed_with_its_entry(env: ServiceEnv) -> None:
    [row] = await holds.create_hold(env, user("hs-admin"), request(buildings=["hs"]))
    assert (row.camera_id, row.created_by, row.created_wall_ns, row.reason) == (
        "hs-cam", "user:hs-admin", NOW, "police request")
    [(actor, target, outcome, detail)] = entries(env, "hold.create")
    assert (actor, target, outcome) == ("user:hs-admin", f"hold:{row.id}", "ok")
    assert detail == {"camera": "hs-cam", "start": "2026-09-21T13:13:20.000Z", "end": "2026-09-21T13:23:20.000Z",
                      "reason": "police request", "case_id": "2026-118", "until": None, "via": "token",
                      "remote": "192.0.2.7"}


async def test_one_refused_camera_refuses_the_whole_request(env: ServiceEnv) -> None:
    with pytest.raises(PermissionDeniedError):
        await holds.create_hold(env, user("hs-admin"), request(["hs-cam", "ms-cam"]))
    assert count(env.index, "SELECT COUNT(*) FROM evidence_holds") == 0
    assert [(a, t, o) for a, t, o, _ in entries(env, "hold_evidence")] == [
        ("user:hs-admin", "camera:ms-cam", "denied")]
    with pytest.raises(PermissionDeniedError):  # a hold on every camera is about every building
        await holds.create_hold(env, user("hs-admin"), request(all_cameras=True))
    with pytest.raises(PermissionDeniedError):
        await holds.create_hold(env, user("hs-viewer"), request(["hs-cam"]))


async def test_the_cli_caller_acts_as_the_appliance(env: ServiceEnv) -> None:
    cli = cli_caller(NOW)
    [every] = await holds.create_hold(env, cli, request(all_cameras=True))
    assert every.camera_id is None and every.created_by == cli.actor and cli.actor.startswith("cli:")
    [(actor, _, _, detail)] = entries(env, "hold.create")
    assert actor == cli.actor and detail["via"] == "cli" and "remote" not in detail
    assert [r.id for r in await holds.list_holds(env, cli, HoldQuery())] == [every.id]
    assert await holds.list_holds(env, user("hs-admin"), HoldQuery()) == []  # not theirs to manage
    assert [r.id for r in await holds.list_holds(env, user("district"), HoldQuery("ms-cam"))] == [every.id]


async def test_listing_by_state_and_range(env: ServiceEnv) -> None:
    district = user("district")
    [expiring] = await holds.create_hold(env, district, request(["hs-cam"], until_ns=NOW + 60 * S))
    [kept] = await holds.create_hold(env, district, request(["ms-cam"]))
    later = user("district", NOW + 61 * S)
    assert [r.id for r in await holds.list_holds(env, later, HoldQuery(state=HoldState.EXPIRED))] == [expiring.id]
    assert [r.id for r in await holds.list_holds(env, later, HoldQuery(state=HoldState.ACTIVE))] == [kept.id]
    assert await holds.list_holds(env, later, HoldQuery(start_wall_ns=T0 + 600 * S)) == []
    with pytest.raises(NotFoundError):
        await holds.list_holds(env, later, HoldQuery("nope"))
    with pytest.raises(BadRequestError):
        await holds.list_holds(env, later, HoldQuery(start_wall_ns=T0, end_wall_ns=T0))


async def test_release_checks_who_before_why_and_is_audited_with_the_hold(env: ServiceEnv) -> None:
    [row] = await holds.create_hold(env, user("hs-admin"), request(["hs-cam"]))
    with pytest.raises(PermissionDeniedError):  # refused before the missing reason is looked at
        await holds.release_hold(env, user("hs-viewer"), row.id, None)
    with pytest.raises(BadRequestError):
        await holds.release_hold(env, user("hs-admin"), row.id, "  ")
    with pytest.raises(NotFoundError):
        await holds.release_hold(env, user("hs-admin"), 999, "case closed")
    released = await holds.release_hold(env, user("hs-admin"), row.id, " case closed ")
    assert (released.released_by, released.released_wall_ns) == ("user:hs-admin", NOW)
    with pytest.raises(ConflictError):
        await holds.release_hold(env, user("hs-admin"), row.id, "again")
    [(_, target, _, detail)] = entries(env, "hold.release")
    assert target == f"hold:{row.id}" and detail == {
        "camera": "hs-cam", "start": "2026-09-21T13:13:20.000Z", "end": "2026-09-21T13:23:20.000Z",
        "hold_reason": "police request", "case_id": "2026-118", "reason": "case closed", "via": "token",
        "remote": "192.0.2.7"}
    assert env.index.holds() == []


async def test_a_failing_entry_leaves_neither_hold_nor_release(env: ServiceEnv) -> None:
    [row] = await holds.create_hold(env, user("district"), request(["hs-cam"]))
    fail_audit_writes(env.index, "hold.create")
    with pytest.raises(Exception, match="the audit write failed"):
        await holds.create_hold(env, cli_caller(NOW), request(["hs-cam", "ms-cam"]))
    fail_audit_writes(env.index, "hold.release")
    with pytest.raises(Exception, match="the audit write failed"):
        await holds.release_hold(env, user("district"), row.id, "case closed")
    assert [(h.id, h.released_wall_ns) for h in await holds.list_holds(env, user("district"), HoldQuery())] == [
        (row.id, None)]
    assert [e.action for e in env.audit.entries()] == ["hold.create"]
