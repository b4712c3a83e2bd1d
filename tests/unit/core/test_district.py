"""core/district.py and district/tokens.py: hub tokens, topics, ACL, bridge, enrolment codes."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from vigil.core.district import (
    BridgeSettings,
    DistrictTokenError,
    HubClaims,
    Reachability,
    SiteMessage,
    SiteTopic,
    TokenPolicy,
    bridge_conf,
    broker_acl,
    enrol_mac,
    enrol_mac_ok,
    hub_topic,
    local_buildings,
    make_enrol_code,
    message_bytes,
    parse_enrol_code,
    parse_hub_topic,
    parse_message,
    site_state,
    split_token,
    token_buildings_for,
)
from vigil.core.errors import BadRequestError, PermissionDeniedError
from vigil.core.hub_permissions import HubAction, HubUser, hub_decide, token_claims
from vigil.core.permissions import Role
from vigil.district.tokens import public_key_from_text, public_key_text, sign_token, verify_token

S = 1_000_000_000
NOW = 1_800_000_000 * S
POLICY = TokenPolicy(hub="district", site="lincoln", skew_s=60, max_lifetime_s=900)
CLAIMS = HubClaims(hub="district", site="lincoln", user="alice", role=Role.DISTRICT_ADMIN, buildings=(),
                   issued_ns=NOW, expires_ns=NOW + 300 * S, token_id="t1")
KEY = Ed25519PrivateKey.generate()


def test_a_signed_token_verifies_with_the_public_key_handed_over() -> None:
    public = public_key_from_text(public_key_text(KEY.public_key()))
    assert verify_token(public, sign_token(KEY, CLAIMS), POLICY, NOW + 10 * S) == CLAIMS


@pytest.mark.parametrize(("change", "now_ns", "reason"), [
    ({"site": "jefferson"}, NOW, "is for 'jefferson', not this appliance"),
    ({"hub": "other"}, NOW, "enrolled with 'district'"),
    ({}, NOW + 361 * S, "expired"),
    ({}, NOW - 61 * S, "in this appliance's future"),
    ({"expires_ns": NOW + 901 * S}, NOW, "lives longer"),
    ({"expires_ns": NOW}, NOW, "expires before it was issued"),
    ({"role": Role.INSTALLER}, NOW, "cannot grant role installer"),
    ({"role": Role.VIEWER}, NOW, "names no building"),
    ({"user": "a:b"}, NOW, "malformed user"),
])
def test_the_appliance_refuses_a_token_naming_why(change: dict[str, object], now_ns: int, reason: str) -> None:
    token = sign_token(KEY, dataclasses.replace(CLAIMS, **change))  # type: ignore[arg-type]
    with pytest.raises(DistrictTokenError, match=reason):
        verify_token(KEY.public_key(), token, POLICY, now_ns)


def test_a_clock_within_the_skew_is_accepted_both_ways() -> None:
    token = sign_token(KEY, CLAIMS)
    verify_token(KEY.public_key(), token, POLICY, NOW - 59 * S)
    verify_token(KEY.public_key(), token, POLICY, NOW + 359 * S)


def test_max_role_caps_what_a_hub_grants() -> None:
    token = sign_token(KEY, CLAIMS)
    with pytest.raises(DistrictTokenError, match="above this appliance's max_role viewer"):
        verify_token(KEY.public_key(), token, dataclasses.replace(POLICY, max_role=Role.VIEWER), NOW)


def test_a_forged_or_altered_token_is_refused() -> None:
    forged = sign_token(Ed25519PrivateKey.generate(), CLAIMS)
    with pytest.raises(DistrictTokenError, match="signature does not verify"):
        verify_token(KEY.public_key(), forged, POLICY, NOW)
    good = sign_token(KEY, CLAIMS)
    payload, signature = split_token(good)
    altered = sign_token(KEY, dataclasses.replace(CLAIMS, site="jefferson")).split(".")[1]
    with pytest.raises(DistrictTokenError, match="signature does not verify"):
        verify_token(KEY.public_key(), f"vh1.{altered}.{good.split('.')[2]}", POLICY, NOW)
    assert payload and signature


@given(st.text(max_size=300))
def test_any_text_is_refused_with_the_token_error_only(text: str) -> None:
    with pytest.raises(DistrictTokenError):
        verify_token(KEY.public_key(), "vh1." + text, POLICY, NOW)


def test_a_building_scoped_token_keeps_only_buildings_that_exist_here() -> None:
    viewer = dataclasses.replace(CLAIMS, role=Role.VIEWER, buildings=("hs", "gone"))
    assert local_buildings(viewer, ["hs", "ms"]) == ("hs",)
    assert local_buildings(CLAIMS, ["hs"]) == ()
    assert token_buildings_for(["lincoln/hs", "lincoln/ms", "other/x", "lincoln/"], "lincoln") == ("hs", "ms")


def test_topics_round_trip_and_strangers_are_ignored() -> None:
    assert parse_hub_topic(hub_topic("lincoln", SiteTopic.DOOR_EVENT)) == ("lincoln", SiteTopic.DOOR_EVENT)
    for topic in ("vigil/lincoln", "vigil/Lincoln/health", "vigil/lincoln/nope", "x/lincoln/health",
                  "vigil/lincoln/health/extra"):
        assert parse_hub_topic(topic) is None


def test_a_message_round_trips_and_one_naming_another_site_is_refused() -> None:
    message = SiteMessage(SiteTopic.DOOR_EVENT, "lincoln", "b1", 7, NOW, {"door": "east"})
    assert parse_message("lincoln", SiteTopic.DOOR_EVENT, message_bytes(message)) == message
    with pytest.raises(BadRequestError, match="on topic of 'jefferson'"):
        parse_message("jefferson", SiteTopic.DOOR_EVENT, message_bytes(message))
    for bad in (b"\xff", b"[]", b'{"v": 2}', b'{"v":1,"site":"lincoln","kind":"door_event","seq":"1"}'):
        with pytest.raises(BadRequestError):
            parse_message("lincoln", SiteTopic.DOOR_EVENT, bad)


def test_the_acl_lets_each_site_write_only_its_own_topics() -> None:
    acl = broker_acl(["lincoln", "jefferson"], "hub")
    assert "user hub\ntopic read vigil/#" in acl
    assert "user lincoln\ntopic write vigil/lincoln/#" in acl
    assert "user jefferson\ntopic write vigil/jefferson/#" in acl
    with pytest.raises(ValueError):
        broker_acl(["bad site"], "hub")


def test_the_bridge_remaps_local_topics_under_the_site_and_keeps_its_session() -> None:
    conf = bridge_conf(BridgeSettings("lincoln", "hub.example", 8883, "/k/ca.crt", "/k/site.crt", "/k/site.key"))
    assert "topic # out 1 district/ vigil/lincoln/" in conf
    assert "cleansession false" in conf and "address hub.example:8883" in conf
    assert "notification_topic vigil/lincoln/bridge" in conf


def test_enrolment_codes_parse_forgivingly_and_macs_bind_to_the_secret() -> None:
    code = make_enrol_code(bytes(range(15)))
    assert parse_enrol_code(" " + code.text.lower().replace("1", "l") + " ") == code
    mac = enrol_mac(code, b"ctx", b"body")
    assert enrol_mac_ok(code, b"ctx", b"body", mac)
    assert not enrol_mac_ok(code, b"ctx", b"body2", mac)
    assert not enrol_mac_ok(make_enrol_code(bytes(15)), b"ctx", b"body", mac)
    with pytest.raises(BadRequestError):
        parse_enrol_code("ABCD-1234")


def test_site_state_follows_the_bridge_and_silence() -> None:
    assert site_state(None, None, None, NOW, 90).reachability is Reachability.NEVER_SEEN
    down = site_state(False, NOW - 5 * S, NOW - 10 * S, NOW, 90)
    assert (down.reachability, down.since_ns) == (Reachability.UNREACHABLE, NOW - 5 * S)
    assert site_state(True, NOW - 200 * S, NOW - 10 * S, NOW, 90).reachability is Reachability.REACHABLE
    silent = site_state(True, NOW - 200 * S, NOW - 100 * S, NOW, 90)
    assert (silent.reachability, silent.since_ns) == (Reachability.UNREACHABLE, NOW - 100 * S)


# The hub's permissions, with an expectation table of its own (not derived from the module's).
HUB_EXPECTED = {
    (Role.DISTRICT_ADMIN, HubAction.MANAGE_SITES, None): True,
    (Role.DISTRICT_ADMIN, HubAction.ISSUE_TOKEN, "jefferson"): True,
    (Role.BUILDING_ADMIN, HubAction.PULL_EXPORT, "lincoln"): True,
    (Role.BUILDING_ADMIN, HubAction.PULL_EXPORT, "jefferson"): False,
    (Role.BUILDING_ADMIN, HubAction.MANAGE_USERS, None): False,
    (Role.VIEWER, HubAction.ISSUE_TOKEN, "lincoln"): True,
    (Role.VIEWER, HubAction.ISSUE_TOKEN, "jefferson"): False,
    (Role.VIEWER, HubAction.PULL_EXPORT, "lincoln"): False,
    (Role.VIEWER, HubAction.VIEW_DISTRICT, None): True,
    (Role.INSTALLER, HubAction.VIEW_DISTRICT, None): False,
}


@pytest.mark.parametrize(("role", "action", "site"), list(HUB_EXPECTED))
def test_hub_permissions(role: Role, action: HubAction, site: str | None) -> None:
    scopes = () if role is Role.DISTRICT_ADMIN else ("lincoln/hs",)
    user = HubUser(1, "u", role, scopes)
    assert hub_decide(user, action, site).allowed is HUB_EXPECTED[(role, action, site)]
    assert not hub_decide(dataclasses.replace(user, disabled=True), action, site).allowed


def test_a_token_carries_the_users_buildings_at_that_site_only() -> None:
    viewer = HubUser(1, "vic", Role.VIEWER, ("lincoln/hs", "lincoln/ms", "adams/hs"))
    claims = token_claims("district", viewer, "lincoln", NOW, 300, "t9")
    assert (claims.site, claims.role, claims.buildings, claims.token_id) == ("lincoln", Role.VIEWER, ("hs", "ms"), "t9")
    assert claims.expires_ns - claims.issued_ns == 300 * S
    admin = token_claims("district", HubUser(2, "ann", Role.DISTRICT_ADMIN, ()), "adams", NOW, 60, "t1")
    assert admin.buildings == ()
    with pytest.raises(PermissionDeniedError, match="not among the user's sites"):
        token_claims("district", viewer, "grant", NOW, 300, "t2")
    odd = HubUser(3, "odd", Role.VIEWER, ("grant",))  # a scope naming a site but no building
    with pytest.raises(PermissionDeniedError, match="no building at site grant"):
        token_claims("district", odd, "grant", NOW, 300, "t3")
