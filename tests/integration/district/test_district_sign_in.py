"""A hub token at the real daemon (TLS, loopback, simulated cameras): a session from it, once;
/api/me names the hub; the token as a bearer token on /api/cameras, with the token's buildings;
a token for another appliance and an expired one refused (401 naming why)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.district import HUB_NAME, HUB_URL, enrol_test_hub, hub_token
from tests.support.webapp import WebApp, running_webapp
from vigil.core.permissions import Role

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebApp, Ed25519PrivateKey]]:
    tmp = tmp_path_factory.mktemp("district")
    with running_webapp(tmp) as web:
        key = enrol_test_hub(tmp / "data")  # the daemon reads hub.json at each use: no restart
        yield web, key


def _detail(body: bytes) -> str:
    return str(json.loads(body)["detail"])


def test_a_hub_token_signs_in_once_and_me_names_the_hub(app: tuple[WebApp, Ed25519PrivateKey]) -> None:
    web, key = app
    token = hub_token(key, time.time_ns(), role=Role.VIEWER, buildings=("hs",), lifetime_s=120)
    status, body, headers = web.request("POST", "/api/district/session", {"token": token})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["user"]["name"] == "hub:dana" and answer["user"]["buildings"] == ["hs"]
    assert answer["user"]["district"] == {"hub_name": HUB_NAME, "hub_url": HUB_URL}
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
    session = cookie.split(";", 1)[0]
    status, body, _ = web.request("GET", "/api/me", headers={"Cookie": session})
    assert status == 200 and json.loads(body)["district"] == {"hub_name": HUB_NAME, "hub_url": HUB_URL}
    status, body, _ = web.request("GET", "/api/cameras", headers={"Cookie": session})
    assert status == 200 and {c["building"] for c in json.loads(body)} == {"hs"}
    # a local user's /api/me has no district
    assert web.json("GET", "/api/me", user="hs-admin")["district"] is None
    status, body, _ = web.request("POST", "/api/district/session", {"token": token})
    assert status == 401 and "already used" in _detail(body)


def test_a_hub_token_as_a_bearer_token(app: tuple[WebApp, Ed25519PrivateKey]) -> None:
    web, key = app
    token = hub_token(key, time.time_ns(), user="erin", role=Role.BUILDING_ADMIN, buildings=("ms",))
    for _ in range(2):  # reusable within its lifetime
        status, body, _ = web.request("GET", "/api/cameras", headers={"Authorization": f"Bearer {token}"})
        assert status == 200, body
        assert [c["id"] for c in json.loads(body)] == ["ms-front"]
    status, _, _ = web.request("GET", "/api/cameras/hs-east/snapshot.jpg", headers={"Authorization": f"Bearer {token}"})
    assert status == 403  # the appliance decides: erin is not in hs here


@pytest.mark.parametrize(("kwargs", "why"), [({"site": "site-b"}, "not this appliance"),
                                             ({"issued_ago_s": 300, "lifetime_s": 200}, "expired")])
def test_tokens_for_another_site_or_expired_are_refused(app: tuple[WebApp, Ed25519PrivateKey],
                                                         kwargs: dict[str, object], why: str) -> None:
    web, key = app
    token = hub_token(key, time.time_ns(), **kwargs)  # type: ignore[arg-type]
    status, body, _ = web.request("POST", "/api/district/session", {"token": token})
    assert status == 401 and why in _detail(body)
    status, body, _ = web.request("GET", "/api/cameras", headers={"Authorization": f"Bearer {token}"})
    assert status == 401 and why in _detail(body)


def test_district_status(app: tuple[WebApp, Ed25519PrivateKey]) -> None:
    web, _ = app
    answer = web.json("GET", "/api/district")
    assert answer["enrolled"] is True and answer["site_id"] == "site-a" and answer["hub_name"] == HUB_NAME
    assert answer["publisher"]["dropped"] == 0
