"""services/accounts.py over a real index: sign-in with its throttle and audit, sign-out, users,
tokens and the first admin, each change with its audit entry or not at all."""

from __future__ import annotations

import time
from typing import Any

import pytest

import vigil.services.accounts
from tests.support.api_harness import PASSWORD
from tests.support.service_env import api_caller
from vigil.core.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    TooManyRequestsError,
)
from vigil.core.permissions import Role, UserSubject
from vigil.core.ratelimit import LoginThrottle
from vigil.services import accounts
from vigil.services.caller import Via, cli_caller
from vigil.services.env import ServiceEnv

Audit = list[tuple[str, str, str, str, dict[str, Any]]]


def _audit(env: ServiceEnv) -> Audit:
    return [(e.actor, e.action, e.target, e.outcome, e.detail) for e in env.audit.entries()]


def _now() -> int:
    return time.time_ns()


async def test_sign_in_makes_a_session_that_authenticates_and_audits_it(
        env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    anonymous = api_caller(None, via=Via.NONE)
    signed = await accounts.sign_in(env, anonymous, accounts.SignIn("hs-admin", PASSWORD), LoginThrottle(), _now)
    assert signed.subject == subjects["hs-admin"] and signed.token.startswith("vigil_s_")
    found = await accounts.authenticate(env, api_caller(None, via=Via.SESSION), signed.token)
    assert found == accounts.Authenticated(subjects["hs-admin"], signed.csrf_token)
    assert _audit(env) == [("user:hs-admin", "login", "user:hs-admin", "ok", {"via": "none", "remote": "127.0.0.1"})]


async def test_wrong_passwords_are_audited_then_locked(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    throttle, anonymous = LoginThrottle(max_failures=2), api_caller(None, via=Via.NONE)
    with pytest.raises(AuthenticationError, match="invalid name or password"):
        await accounts.sign_in(env, anonymous, accounts.SignIn("nobody", "wrong password"), throttle, _now)
    with pytest.raises(TooManyRequestsError):
        await accounts.sign_in(env, anonymous, accounts.SignIn("hs-admin", "wrong password"), throttle, _now)
    with pytest.raises(TooManyRequestsError):  # the right password while locked
        await accounts.sign_in(env, anonymous, accounts.SignIn("hs-admin", PASSWORD), throttle, _now)
    assert [(a, t, o) for a, _, t, o, _ in _audit(env)] == [
        ("anonymous@127.0.0.1", "user:nobody", "failed"), ("anonymous@127.0.0.1", "user:hs-admin", "locked")]
    assert env.index.query("SELECT COUNT(*) FROM credentials WHERE kind = 'session'")[0][0] == 0


async def test_a_disabled_user_cannot_sign_in(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    await accounts.disable_user(env, cli_caller(_now()), "hs-viewer")
    with pytest.raises(AuthenticationError):
        await accounts.sign_in(env, api_caller(None, via=Via.NONE), accounts.SignIn("hs-viewer", PASSWORD),
                               LoginThrottle(), _now)


async def test_sign_out_revokes_a_session_but_not_an_api_token(
        env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    signed = await accounts.sign_in(env, api_caller(None, via=Via.NONE), accounts.SignIn("hs-admin", PASSWORD),
                                    LoginThrottle(), _now)
    token = (await accounts.create_api_token(env, cli_caller(_now()), "hs-admin", "script")).token
    admin = subjects["hs-admin"]
    assert await accounts.sign_out(env, api_caller(admin, via=Via.TOKEN), token) is False
    assert (await accounts.authenticate(env, api_caller(None), token)).subject == admin
    assert await accounts.sign_out(env, api_caller(admin, via=Via.SESSION), signed.token) is True
    with pytest.raises(AuthenticationError):
        await accounts.authenticate(env, api_caller(None), signed.token)
    assert [(e.action, e.target) for e in env.audit.entries(action="logout")] == [("logout", "user:hs-admin")] * 2


async def test_a_new_password_signs_the_user_out_but_keeps_api_tokens(
        env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    """A password is changed when someone else may know it: whoever signed in with it is out."""
    signed = [await accounts.sign_in(env, api_caller(None, via=Via.NONE), accounts.SignIn("hs-admin", PASSWORD),
                                     LoginThrottle(), _now) for _ in range(2)]
    other = await accounts.sign_in(env, api_caller(None, via=Via.NONE), accounts.SignIn("hs-viewer", PASSWORD),
                                   LoginThrottle(), _now)
    token = (await accounts.create_api_token(env, cli_caller(_now()), "hs-admin", "script")).token
    await accounts.set_password(env, cli_caller(_now()), "hs-admin", "a new long password")
    for session in signed:
        with pytest.raises(AuthenticationError):
            await accounts.authenticate(env, api_caller(None), session.token)
    assert (await accounts.authenticate(env, api_caller(None), token)).subject == subjects["hs-admin"]
    assert (await accounts.authenticate(env, api_caller(None), other.token)).subject == subjects["hs-viewer"]
    assert [e.detail["sessions_ended"] for e in env.audit.entries(action="user.passwd")] == [2]


async def test_add_user_checks_its_input_and_audits(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    cli = cli_caller(_now())
    for req, message in ((accounts.NewUser("bo", Role.VIEWER, ("nope",), PASSWORD), "unknown buildings"),
                         (accounts.NewUser("bo", Role.VIEWER, (), PASSWORD), "needs at least one --building"),
                         (accounts.NewUser("bo", Role.VIEWER, ("hs",), "short"), "password too short")):
        with pytest.raises(BadRequestError, match=message):
            await accounts.add_user(env, cli, req)
    with pytest.raises(ConflictError, match="already exists"):
        await accounts.add_user(env, cli, accounts.NewUser("district", Role.VIEWER, ("hs",), PASSWORD))
    assert _audit(env) == []
    user = await accounts.add_user(env, cli, accounts.NewUser("bo", Role.VIEWER, ("ms", "hs"), PASSWORD))
    assert user == accounts.User("bo", Role.VIEWER, ("hs", "ms"), False)
    assert _audit(env) == [(cli.actor, "user.add", "user:bo", "ok",
                            {"role": "viewer", "buildings": ["hs", "ms"], "via": "cli"})]
    assert user in await accounts.list_users(env, cli)


async def test_an_api_caller_needs_manage_users(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    with pytest.raises(PermissionDeniedError):
        await accounts.create_api_token(env, api_caller(subjects["hs-admin"]), "district", "mine now")
    assert [(e.actor, e.action, e.outcome) for e in env.audit.entries()] == [
        ("user:hs-admin", "manage_users", "denied")]
    assert env.index.query("SELECT COUNT(*) FROM credentials")[0][0] == 0


async def test_disable_revokes_every_credential_with_one_entry(
        env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    cli = cli_caller(_now())
    token = (await accounts.create_api_token(env, cli, "hs-viewer", "script")).token
    await accounts.disable_user(env, cli, "hs-viewer")
    with pytest.raises(AuthenticationError):
        await accounts.authenticate(env, api_caller(None), token)
    assert [e.action for e in env.audit.entries()] == ["token.create", "user.disable"]
    with pytest.raises(NotFoundError):
        await accounts.disable_user(env, cli, "nobody")
    with pytest.raises(NotFoundError):
        await accounts.create_api_token(env, cli, "nobody", "script")
    assert len(env.audit.entries()) == 2


async def test_first_admin_once(env: ServiceEnv) -> None:
    provision = cli_caller(_now())
    password = await accounts.create_first_admin(env, provision, "admin")
    assert password is not None
    assert await accounts.create_first_admin(env, provision, "another") is None
    signed = await accounts.sign_in(env, api_caller(None, via=Via.NONE), accounts.SignIn("admin", password),
                                    LoginThrottle(), _now)
    assert signed.subject.role is Role.DISTRICT_ADMIN
    assert [(e.action, e.target, e.detail["role"]) for e in env.audit.entries(action="user.add")] == [
        ("user.add", "user:admin", "district_admin")]


async def test_admin_password_creates_then_resets(env: ServiceEnv) -> None:
    demo = cli_caller(_now())
    await accounts.set_admin_password(env, demo, "demo", "first password")
    await accounts.set_admin_password(env, demo, "demo", "second password")
    assert [u.name for u in await accounts.list_users(env, demo)] == ["demo"]
    await accounts.sign_in(env, api_caller(None, via=Via.NONE), accounts.SignIn("demo", "second password"),
                           LoginThrottle(), _now)
    assert [e.action for e in env.audit.entries()] == ["user.add", "user.add", "login"]


async def test_a_failing_audit_write_undoes_the_session_and_the_password(
        env: ServiceEnv, subjects: dict[str, UserSubject], monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> int:
        raise OSError("audit write failed")

    monkeypatch.setattr(vigil.services.accounts, "append_in", fail)
    with pytest.raises(OSError, match="audit write failed"):
        await accounts.sign_in(env, api_caller(None, via=Via.NONE), accounts.SignIn("hs-admin", PASSWORD),
                               LoginThrottle(), _now)
    with pytest.raises(OSError, match="audit write failed"):
        await accounts.set_password(env, cli_caller(_now()), "hs-admin", "a new long password")
    assert env.index.query("SELECT COUNT(*) FROM credentials")[0][0] == 0
    monkeypatch.undo()
    await accounts.sign_in(env, api_caller(None, via=Via.NONE), accounts.SignIn("hs-admin", PASSWORD),
                           LoginThrottle(), _now)  # the password stayed
