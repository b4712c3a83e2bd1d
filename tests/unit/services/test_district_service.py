"""services/district.py over a real index and a test hub key: a hub token becomes a session once,
as the shadow user with the token's role and this appliance's buildings; everything else refused
with the reason, and audited."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.district import HUB_NAME, enrol_test_hub, hub_token
from tests.support.service_env import api_caller
from vigil.config import Config, DistrictConfig
from vigil.config.live import LiveConfig
from vigil.core.errors import AuthenticationError, ConflictError, TooManyRequestsError
from vigil.core.permissions import Role, UserSubject
from vigil.core.ratelimit import LoginThrottle
from vigil.services import accounts, district
from vigil.services.caller import Via
from vigil.services.env import ServiceEnv
from vigil.store.index import Index


@pytest.fixture
def hub_key(config: Config) -> Ed25519PrivateKey:
    return enrol_test_hub(config.storage.path)


def _audit(env: ServiceEnv) -> list[tuple[str, str, str, str, dict[str, Any]]]:
    return [(e.actor, e.action, e.target, e.outcome, e.detail) for e in env.audit.entries()]


def _anonymous() -> Any:
    return api_caller(None, time.time_ns(), via=Via.NONE)


async def test_a_token_signs_in_once_as_the_shadow_user(env: ServiceEnv, hub_key: Ed25519PrivateKey) -> None:
    now = time.time_ns()
    token = hub_token(hub_key, now, role=Role.BUILDING_ADMIN, buildings=("hs", "elsewhere"), lifetime_s=300)
    signed_in = await district.sign_in(env, _anonymous(), token)
    assert signed_in.subject.name == "hub:dana" and signed_in.subject.role is Role.BUILDING_ADMIN
    assert signed_in.subject.buildings == frozenset({"hs"})  # the token's buildings that exist here
    assert abs(signed_in.expires_ns - (now + 300 * 10**9)) < 10**9  # the session ends with the token
    found = await accounts.authenticate(env, _anonymous(), signed_in.token)
    assert found.subject == signed_in.subject and found.csrf_token == signed_in.csrf_token
    assert (await district.session_hub(env, signed_in.token)) == district.HubLink(HUB_NAME, "https://hub.test:9443")
    entry = _audit(env)[-1]
    assert entry[:4] == ("user:hub:dana", "district.sign_in", "user:hub:dana", "ok")
    assert entry[4]["hub_user"] == "dana" and entry[4]["buildings"] == ["hs"] and token not in str(entry)
    with pytest.raises(AuthenticationError, match="already used"):
        await district.sign_in(env, _anonymous(), token)
    assert _audit(env)[-1][2:4] == ("user:hub:dana", "refused")


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"site": "site-b"}, "not this appliance"),
    ({"issued_ago_s": 400, "lifetime_s": 300}, "expired"),
    ({"issued_ago_s": -120}, "in this appliance's future: check both clocks"),  # a clock off by more than skew_s
    ({"lifetime_s": 3600}, "lives longer"),
    ({"hub": "other-hub"}, "enrolled with"),
    ({"role": Role.VIEWER, "buildings": ("elsewhere",)}, "no building of this appliance"),
])
async def test_tokens_this_appliance_must_not_take_are_refused(env: ServiceEnv, hub_key: Ed25519PrivateKey,
                                                                kwargs: dict[str, Any], why: str) -> None:
    with pytest.raises(AuthenticationError, match=why):
        await district.sign_in(env, _anonymous(), hub_token(hub_key, time.time_ns(), **kwargs))
    assert _audit(env)[-1][1] == "district.sign_in" and _audit(env)[-1][3] == "refused"
    assert env.accounts.find_user("hub:dana") is None


async def test_a_forged_token_is_refused(env: ServiceEnv, hub_key: Ed25519PrivateKey) -> None:
    forged = hub_token(Ed25519PrivateKey.generate(), time.time_ns())
    with pytest.raises(AuthenticationError, match="signature"):
        await district.sign_in(env, _anonymous(), forged)


async def test_not_enrolled_refuses(env: ServiceEnv) -> None:
    token = hub_token(Ed25519PrivateKey.generate(), time.time_ns())
    with pytest.raises(AuthenticationError, match="not enrolled"):
        await district.sign_in(env, _anonymous(), token)


async def test_a_locally_disabled_shadow_user_is_refused(env: ServiceEnv, hub_key: Ed25519PrivateKey) -> None:
    await district.sign_in(env, _anonymous(), hub_token(hub_key, time.time_ns()))
    env.accounts.set_disabled("hub:dana", True, time.time_ns())
    with pytest.raises(AuthenticationError, match="disabled on this appliance"):
        await district.sign_in(env, _anonymous(), hub_token(hub_key, time.time_ns()))
    with pytest.raises(AuthenticationError, match="disabled on this appliance"):
        await district.authenticate_bearer(env, _anonymous(), hub_token(hub_key, time.time_ns()))
    assert env.accounts.user("hub:dana").disabled  # the hub cannot enable it again


async def test_max_role_caps_what_a_hub_grants(config: Config, index: Index, hub_key: Ed25519PrivateKey) -> None:
    capped = dataclasses.replace(config, district=DistrictConfig(max_role=Role.BUILDING_ADMIN))
    env = ServiceEnv(LiveConfig(capped), index)
    try:
        with pytest.raises(AuthenticationError, match="max_role"):
            await district.sign_in(env, _anonymous(), hub_token(hub_key, time.time_ns()))
        ok = await district.sign_in(env, _anonymous(), hub_token(hub_key, time.time_ns(), role=Role.BUILDING_ADMIN,
                                                                  buildings=("ms",)))
        assert ok.subject.role is Role.BUILDING_ADMIN and ok.subject.buildings == frozenset({"ms"})
    finally:
        env.close()


async def test_a_bearer_token_is_taken_again_and_updates_the_shadow_user(
        env: ServiceEnv, hub_key: Ed25519PrivateKey) -> None:
    token = hub_token(hub_key, time.time_ns(), role=Role.VIEWER, buildings=("hs",))
    for _ in range(2):  # not single use, unlike a sign-in
        found = await district.authenticate_bearer(env, _anonymous(), token)
        assert isinstance(found.subject, UserSubject)
        assert found.subject.name == "hub:dana" and found.subject.role is Role.VIEWER and found.csrf_token is None
    promoted = hub_token(hub_key, time.time_ns(), role=Role.BUILDING_ADMIN, buildings=("hs", "ms"))
    found = await district.authenticate_bearer(env, _anonymous(), promoted)
    assert isinstance(found.subject, UserSubject)
    assert found.subject.role is Role.BUILDING_ADMIN and found.subject.buildings == frozenset({"hs", "ms"})
    changes = [e for e in _audit(env) if e[1] == "district.shadow_user"]
    assert len(changes) == 2  # made, then changed; the repeated token changed nothing


async def test_renewing_a_local_session_is_a_conflict(env: ServiceEnv, hub_key: Ed25519PrivateKey) -> None:
    signed_in = await district.sign_in(env, _anonymous(), hub_token(hub_key, time.time_ns()))
    caller = api_caller(signed_in.subject, time.time_ns(), via=Via.SESSION)
    with pytest.raises(ConflictError):
        await district.renew(env, caller, "vigil_s_not-a-session")



async def test_sign_ins_of_long_expired_tokens_are_forgotten(env: ServiceEnv, hub_key: Ed25519PrivateKey) -> None:
    with env.index.transaction() as c:  # as if it had signed in an hour ago
        c.execute("INSERT INTO district_sign_ins VALUES ('old', 'dana', ?, ?)",
                  (time.time_ns() - 3600 * 10**9, time.time_ns() - 3300 * 10**9))
    await district.sign_in(env, _anonymous(), hub_token(hub_key, time.time_ns(), token_id="new"))
    assert [r[0] for r in env.index.query("SELECT token_id FROM district_sign_ins")] == ["new"]


async def test_made_up_tokens_are_throttled(env: ServiceEnv, hub_key: Ed25519PrivateKey) -> None:
    throttle = LoginThrottle(max_failures=2, lockout_s=60)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            await district.sign_in(env, _anonymous(), "vh1.made.up", throttle)
    entries = len(env.audit.entries())
    with pytest.raises(TooManyRequestsError):  # even a good token, from there, for now
        await district.sign_in(env, _anonymous(), hub_token(hub_key, time.time_ns()), throttle)
    assert len(env.audit.entries()) == entries  # a locked address writes nothing more
