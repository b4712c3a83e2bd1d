"""services/accounts.py's administration verbs as the API calls them (issue 14): change a user's
role and buildings, disable, API tokens listed and revoked; never the last district admin; each
change with its audit entry in one transaction or not at all."""

from __future__ import annotations

import time

import pytest

from tests.support.audit_failure import fail_audit_writes, heal_audit_writes
from tests.support.service_env import api_caller
from vigil.core.errors import AuthenticationError, BadRequestError, ConflictError, NotFoundError, PermissionDeniedError
from vigil.core.permissions import Role, UserSubject
from vigil.services import accounts
from vigil.services.caller import cli_caller
from vigil.services.env import ServiceEnv


def _now() -> int:
    return time.time_ns()


async def test_change_role_takes_effect_at_the_next_authentication_and_audits_the_old_one(
        env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    district = api_caller(subjects["district"])
    token = (await accounts.create_api_token(env, district, "hs-viewer", "script")).token
    user = await accounts.change_role(env, district, "hs-viewer", Role.BUILDING_ADMIN, ("ms",))
    assert user == accounts.User("hs-viewer", Role.BUILDING_ADMIN, ("ms",), False)
    found = await accounts.authenticate(env, api_caller(None), token)
    assert isinstance(found.subject, UserSubject)
    assert (found.subject.role, found.subject.buildings) == (Role.BUILDING_ADMIN, frozenset({"ms"}))
    [entry] = env.audit.entries(action="user.role")
    assert (entry.actor, entry.target) == ("user:district", "user:hs-viewer")
    assert entry.detail["role"] == "building_admin" and entry.detail["buildings"] == ["ms"]
    assert entry.detail["was"] == {"role": "viewer", "buildings": ["hs"]}


async def test_change_role_refuses_bad_scopes_and_unknown_users(
        env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    district = api_caller(subjects["district"])
    with pytest.raises(BadRequestError, match="unknown buildings"):
        await accounts.change_role(env, district, "hs-viewer", Role.VIEWER, ("nope",))
    with pytest.raises(BadRequestError, match="needs at least one"):
        await accounts.change_role(env, district, "hs-viewer", Role.VIEWER, ())
    with pytest.raises(NotFoundError):
        await accounts.change_role(env, district, "nobody", Role.VIEWER, ("hs",))
    with pytest.raises(PermissionDeniedError):
        await accounts.change_role(env, api_caller(subjects["hs-admin"]), "hs-viewer", Role.VIEWER, ("ms",))
    assert [(e.action, e.outcome) for e in env.audit.entries()] == [("manage_users", "denied")]
    assert (await env.run(lambda: env.accounts.user("hs-viewer"))).buildings == ("hs",)


async def test_an_api_caller_cannot_leave_no_district_admin_but_the_cli_can(
        env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    district = api_caller(subjects["district"])
    with pytest.raises(ConflictError, match="no active district admin"):
        await accounts.disable_user(env, district, "district")
    with pytest.raises(ConflictError, match="no active district admin"):
        await accounts.change_role(env, district, "district", Role.VIEWER, ("hs",))
    row = await env.run(lambda: env.accounts.user("district"))
    assert (row.role, row.disabled) == (Role.DISTRICT_ADMIN, False)  # both changes rolled back
    assert env.audit.entries() == []
    # With a second district admin, the first may step down.
    await accounts.change_role(env, district, "hs-admin", Role.DISTRICT_ADMIN, ())
    assert (await accounts.disable_user(env, district, "district")).disabled
    # The CLI on the appliance is the recovery path: it is not stopped.
    cli = cli_caller(_now())
    assert (await accounts.disable_user(env, cli, "hs-admin")).disabled


async def test_tokens_list_without_secrets_and_revoke_alone(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    district = api_caller(subjects["district"])
    first = await accounts.create_api_token(env, district, "hs-admin", "  nightly export  ")
    second = await accounts.create_api_token(env, district, "hs-admin", "dashboard")
    assert first.token.startswith("vigil_t_") and first.row.label == "nightly export"
    listed = await accounts.list_api_tokens(env, district)
    assert [(t.id, t.user_name, t.label, t.revoked_wall_ns) for t in listed] == [
        (first.row.id, "hs-admin", "nightly export", None), (second.row.id, "hs-admin", "dashboard", None)]
    assert first.token not in repr(listed) and second.token not in repr(listed)
    revoked = await accounts.revoke_api_token(env, district, first.row.id)
    assert revoked.revoked_wall_ns is not None
    with pytest.raises(AuthenticationError):
        await accounts.authenticate(env, api_caller(None), first.token)
    assert (await accounts.authenticate(env, api_caller(None), second.token)).subject == subjects["hs-admin"]
    assert [(e.action, e.target, e.detail.get("label")) for e in env.audit.entries()] == [
        ("token.create", "user:hs-admin", "nightly export"), ("token.create", "user:hs-admin", "dashboard"),
        ("token.revoke", f"token:{first.row.id}", "nightly export")]
    for label in ("", "   ", "x" * 101):
        with pytest.raises(BadRequestError, match="label"):
            await accounts.create_api_token(env, district, "hs-admin", label)
    await accounts.disable_user(env, district, "hs-viewer")
    with pytest.raises(ConflictError, match="disabled"):
        await accounts.create_api_token(env, district, "hs-viewer", "never works")
    assert [t.user_name for t in await accounts.list_api_tokens(env, district)] == ["hs-admin", "hs-admin"]


async def test_a_session_is_not_an_api_token_to_revoke(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    await env.run(lambda: env.accounts.create_credential(subjects["hs-admin"].user_id, "session", "browser", _now(),
                                                         None))
    [[cred_id]] = env.index.query("SELECT id FROM credentials")
    with pytest.raises(NotFoundError):
        await accounts.revoke_api_token(env, api_caller(subjects["district"]), int(cred_id))
    assert env.index.query("SELECT revoked_wall_ns FROM credentials")[0][0] is None
    with pytest.raises(PermissionDeniedError):
        await accounts.list_api_tokens(env, api_caller(subjects["hs-admin"]))


async def test_without_their_audit_entries_role_disable_and_revoke_do_not_happen(
        env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    district = api_caller(subjects["district"])
    created = await accounts.create_api_token(env, district, "hs-viewer", "script")
    for action in ("user.role", "user.disable", "token.revoke", "token.create"):
        fail_audit_writes(env.index, action)
        with pytest.raises(Exception, match="the audit write failed"):
            if action == "user.role":
                await accounts.change_role(env, district, "hs-viewer", Role.VIEWER, ("ms",))
            elif action == "user.disable":
                await accounts.disable_user(env, district, "hs-viewer")
            elif action == "token.revoke":
                await accounts.revoke_api_token(env, district, created.row.id)
            else:
                await accounts.create_api_token(env, district, "hs-viewer", "second")
    heal_audit_writes(env.index)
    row = await env.run(lambda: env.accounts.user("hs-viewer"))
    assert (row.role, row.buildings, row.disabled) == (Role.VIEWER, ("hs",), False)
    assert [t.revoked_wall_ns for t in await accounts.list_api_tokens(env, district)] == [None]
    assert (await accounts.authenticate(env, api_caller(None), created.token)).subject == subjects["hs-viewer"]


async def test_new_user_names_are_plain(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    district = api_caller(subjects["district"])
    for name in ("", "a b", "../x", "-dash", "x" * 65, "tab\there"):
        with pytest.raises(BadRequestError, match="user name"):
            await accounts.add_user(env, district, accounts.NewUser(name, Role.VIEWER, ("hs",), "long enough pw"))
    added = await accounts.add_user(env, district, accounts.NewUser("j.doe@hs", Role.VIEWER, ("hs",), "long enough pw"))
    assert added.name == "j.doe@hs"
