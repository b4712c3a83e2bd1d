"""services/links.py over a real index: who may create, list and revoke which links, and the
landing page's redemption (use counted and audited together)."""

from __future__ import annotations

import time

import pytest

from tests.support.service_env import api_caller
from vigil.core.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from vigil.core.links import LinkGrant
from vigil.core.permissions import LinkSubject, UserSubject
from vigil.services import links
from vigil.services.caller import Via, cli_caller
from vigil.services.env import ServiceEnv

HOUR_NS = 3600 * 10**9


def _grant(*, cameras: tuple[str, ...] = (), buildings: tuple[str, ...] = (), hours: int = 2) -> LinkGrant:
    return LinkGrant(cameras, buildings, True, False, None, None, time.time_ns() + hours * HOUR_NS, "incident 9")


def _uses(env: ServiceEnv) -> list[tuple[int, object]]:
    return [(int(r[0]), r[1]) for r in env.index.query("SELECT use_count, last_used_wall_ns FROM links")]


async def test_create_needs_manage_links_on_everything_named(
        env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    admin = api_caller(subjects["hs-admin"])
    with pytest.raises(PermissionDeniedError):
        await links.create_link(env, admin, _grant(cameras=("hs-cam",), buildings=("ms",)))
    assert env.index.query("SELECT COUNT(*) FROM links")[0][0] == 0
    assert [(e.action, e.target, e.outcome) for e in env.audit.entries()] == [
        ("manage_links", "building:ms", "denied")]
    created = await links.create_link(env, admin, _grant(cameras=("hs-cam",)))
    assert created.token.startswith("vigil_l_") and created.link.created_by == "user:hs-admin"
    (entry,) = env.audit.entries(action="link.create")
    assert (entry.actor, entry.target) == ("user:hs-admin", f"link:{created.link.id}")
    assert entry.detail["reason"] == "incident 9" and entry.detail["cameras"] == ["hs-cam"]
    assert (entry.detail["via"], entry.detail["remote"]) == ("token", "127.0.0.1")


async def test_links_cannot_manage_links(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    created = await links.create_link(env, cli_caller(time.time_ns()), _grant(buildings=("hs",)))
    link = api_caller(LinkSubject(created.link.id, frozenset(), frozenset({"hs"}), True, False, None, None,
                                  created.link.grant.expires_ns), via=Via.LINK)
    for attempt in (links.list_links(env, link), links.revoke_link(env, link, created.link.id),
                    links.create_link(env, link, _grant(buildings=("hs",)))):
        with pytest.raises(PermissionDeniedError, match="responder links cannot"):
            await attempt


async def test_list_shows_what_the_caller_could_revoke(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    cli = cli_caller(time.time_ns())
    hs = await links.create_link(env, cli, _grant(cameras=("hs-cam",)))
    both = await links.create_link(env, cli, _grant(buildings=("hs", "ms")))
    assert [r.id for r in await links.list_links(env, api_caller(subjects["hs-admin"]))] == [hs.link.id]
    assert [r.id for r in await links.list_links(env, api_caller(subjects["district"]))] == [hs.link.id, both.link.id]
    assert [r.id for r in await links.list_links(env, cli)] == [hs.link.id, both.link.id]
    assert await links.list_links(env, api_caller(subjects["hs-viewer"])) == []


async def test_revoke(env: ServiceEnv, subjects: dict[str, UserSubject]) -> None:
    cli = cli_caller(time.time_ns())
    both = await links.create_link(env, cli, _grant(buildings=("hs", "ms")))
    with pytest.raises(PermissionDeniedError):
        await links.revoke_link(env, api_caller(subjects["hs-admin"]), both.link.id)
    with pytest.raises(NotFoundError):
        await links.revoke_link(env, cli, 99)
    row = await links.revoke_link(env, api_caller(subjects["district"]), both.link.id)
    assert row.revoked_wall_ns is not None
    with pytest.raises(AuthenticationError):
        await links.open_link(env, api_caller(None, via=Via.NONE), both.token)
    assert [(e.actor, e.action, e.outcome) for e in env.audit.entries() if e.action != "link.create"] == [
        ("user:hs-admin", "manage_links", "denied"), ("user:district", "link.revoke", "ok")]


async def test_open_counts_the_use_and_audits_it(env: ServiceEnv) -> None:
    created = await links.create_link(env, cli_caller(time.time_ns()), _grant(cameras=("hs-cam",), hours=1))
    anonymous = api_caller(None, via=Via.NONE)
    with pytest.raises(AuthenticationError, match="not a responder link"):
        await links.open_link(env, anonymous, "vigil_t_" + created.token[8:])
    with pytest.raises(AuthenticationError, match="not valid"):
        await links.open_link(env, anonymous, created.token + "x")
    subject = await links.open_link(env, anonymous, created.token)
    assert subject.link_id == created.link.id and subject.cameras == frozenset({"hs-cam"})
    (entry,) = env.audit.entries(action="link.open")
    assert (entry.actor, entry.target, entry.detail) == (
        f"link:{subject.link_id}", f"link:{subject.link_id}", {"via": "link", "remote": "127.0.0.1"})
    later = api_caller(None, now_ns=time.time_ns() + HOUR_NS, via=Via.NONE)
    with pytest.raises(AuthenticationError, match="not valid"):  # expired
        await links.open_link(env, later, created.token)
    assert _uses(env)[0][0] == 1
