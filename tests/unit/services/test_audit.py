"""services/audit.py: reading the log with its filters (district admins and the appliance only)
and verifying the chain."""

from __future__ import annotations

import time

import pytest

from tests.support.service_env import api_caller
from vigil.core.errors import PermissionDeniedError
from vigil.core.permissions import UserSubject
from vigil.services import audit
from vigil.services.caller import cli_caller
from vigil.services.env import ServiceEnv


def _append(env: ServiceEnv, wall_ns: int, actor: str, action: str) -> None:
    env.audit.append(wall_ns, actor, action, "appliance", "ok")


async def test_entries_filtered(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    for i, (actor, action) in enumerate((("user:a", "login"), ("user:b", "login"), ("user:a", "logout"))):
        _append(env, 1000 + i, actor, action)
    district = api_caller(subjects["district"])
    assert [e.id for e in await audit.entries(env, district, audit.AuditQuery())] == [1, 2, 3]
    assert [e.id for e in await audit.entries(env, district, audit.AuditQuery(actor="user:a"))] == [1, 3]
    assert [e.id for e in await audit.entries(env, district, audit.AuditQuery(action="login", limit=1))] == [1]
    assert [e.id for e in await audit.entries(env, district, audit.AuditQuery(start_ns=1001, end_ns=1002))] == [2]


async def test_only_district_admins_read_it(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    with pytest.raises(PermissionDeniedError):
        await audit.entries(env, api_caller(subjects["hs-admin"]), audit.AuditQuery())
    with pytest.raises(PermissionDeniedError):
        await audit.verify(env, api_caller(subjects["hs-viewer"]))
    entries = await audit.entries(env, cli_caller(time.time_ns()), audit.AuditQuery())
    assert [(e.actor, e.action, e.outcome) for e in entries] == [
        ("user:hs-admin", "view_audit", "denied"), ("user:hs-viewer", "view_audit", "denied")]


async def test_verify_finds_the_altered_entry(env: ServiceEnv) -> None:
    for i in range(3):
        _append(env, 1000 + i, "system", "appliance.start")
    cli = cli_caller(time.time_ns())
    check = await audit.verify(env, cli)
    assert check.ok and check.entries == 3
    with env.index.transaction() as c:
        c.execute("UPDATE audit SET actor = 'someone else' WHERE id = 2")
    broken = await audit.verify(env, cli)
    assert not broken.ok and broken.first_broken_id == 2
