"""Flag rules with a fake clock (device times are plain integers here)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.credential_scrub import scrub_private, scrub_vendor_text
from vigil.core.door_config import FlagRulesConfig
from vigil.core.door_events import DoorEventKind
from vigil.core.door_record import cap_raw, credential_hash, credential_last4
from vigil.core.door_rules import MAX_KEYS, FlagRules, RuleInput, Severity, adapter_offline, skew_is_large
from vigil.core.errors import AuthenticationError
from vigil.core.webhook_auth import sign, verify

K = DoorEventKind
S = 1_000_000_000
T0 = 1_800_000_000 * S


def ev(kind: DoorEventKind, at_s: float, door: str | None = "east", cred: str | None = None) -> RuleInput:
    return RuleInput(kind, T0 + round(at_s * S), door, cred)


def test_single_kinds_flag_with_their_severity() -> None:
    rules = FlagRules(FlagRulesConfig())
    expected = {K.ACCESS_DENIED: Severity.MEDIUM, K.DOOR_FORCED_OPEN: Severity.HIGH, K.DOOR_HELD_OPEN: Severity.MEDIUM,
                K.DURESS: Severity.CRITICAL, K.TAMPER: Severity.HIGH}
    for i, kind in enumerate(K):
        result = FlagRules(FlagRulesConfig()).evaluate(ev(kind, i * 1000))
        if kind in expected:
            assert result.flagged and result.reasons == (kind.value,) and result.severity is expected[kind], kind
        else:
            assert not result.flagged and result.severity is Severity.NONE, kind
    assert not rules.evaluate(ev(K.ACCESS_GRANTED, 0)).flagged


def test_site_can_narrow_the_kinds() -> None:
    rules = FlagRules(FlagRulesConfig(kinds=frozenset({K.DURESS})))
    assert not rules.evaluate(ev(K.DOOR_HELD_OPEN, 0)).flagged
    assert rules.evaluate(ev(K.DURESS, 1)).flagged


def test_three_denials_at_one_door_within_60_s() -> None:
    rules = FlagRules(FlagRulesConfig())
    assert len(rules.evaluate(ev(K.ACCESS_DENIED, 0)).reasons) == 1
    assert len(rules.evaluate(ev(K.ACCESS_DENIED, 30)).reasons) == 1
    third = rules.evaluate(ev(K.ACCESS_DENIED, 59.9))
    assert third.severity is Severity.HIGH and any("at this door" in r for r in third.reasons)


def test_three_denials_spread_over_more_than_60_s_are_not_repeated() -> None:
    rules = FlagRules(FlagRulesConfig())
    for at in (0, 40, 80, 120):  # each window of 60 s holds at most two
        assert len(rules.evaluate(ev(K.ACCESS_DENIED, at)).reasons) == 1, at


def test_one_credential_at_three_doors() -> None:
    rules = FlagRules(FlagRulesConfig())
    rules.evaluate(ev(K.ACCESS_DENIED, 0, "a", "h1"))
    rules.evaluate(ev(K.ACCESS_DENIED, 10, "b", "h1"))
    other = rules.evaluate(ev(K.ACCESS_DENIED, 11, "c", "h2"))
    assert not any("credential" in r for r in other.reasons)
    third = rules.evaluate(ev(K.ACCESS_DENIED, 20, "c", "h1"))
    assert any("this credential" in r for r in third.reasons) and not any("door" in r for r in third.reasons)


def test_denied_then_forced_at_the_same_door() -> None:
    rules = FlagRules(FlagRulesConfig())
    rules.evaluate(ev(K.ACCESS_DENIED, 0))
    elsewhere = rules.evaluate(ev(K.DOOR_FORCED_OPEN, 10, "west"))
    assert elsewhere.severity is Severity.HIGH and len(elsewhere.reasons) == 1
    forced = rules.evaluate(ev(K.DOOR_FORCED_OPEN, 29))
    assert forced.severity is Severity.CRITICAL and "forced open within 30 s of a denial" in forced.reasons
    late = FlagRules(FlagRulesConfig())
    late.evaluate(ev(K.ACCESS_DENIED, 0))
    assert late.evaluate(ev(K.DOOR_FORCED_OPEN, 31)).severity is Severity.HIGH


def test_backfilled_events_are_judged_by_device_time() -> None:
    rules = FlagRules(FlagRulesConfig())
    rules.evaluate(ev(K.ACCESS_DENIED, 100))
    rules.evaluate(ev(K.ACCESS_DENIED, 10))  # arrives late, happened long before
    assert len(rules.evaluate(ev(K.ACCESS_DENIED, 20)).reasons) == 1  # 10 and 20 only: two in [-40, 20]
    assert len(rules.evaluate(ev(K.ACCESS_DENIED, 101)).reasons) == 1  # 100, 101 (20 is 81 s before)
    assert len(rules.evaluate(ev(K.ACCESS_DENIED, 102)).reasons) == 2


def test_unmapped_denials_count_by_credential_only() -> None:
    rules = FlagRules(FlagRulesConfig())
    results = [rules.evaluate(ev(K.ACCESS_DENIED, i, None, None)) for i in range(5)]
    assert all(r.reasons == ("access_denied",) for r in results)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=600_000), min_size=1, max_size=30))
def test_repeat_rule_matches_a_brute_force_count(times_ms: list[int]) -> None:
    """In arrival order, the Nth denial is a repeat exactly when 3+ denials (so far) fall in the
    60 s ending at its own time."""
    rules = FlagRules(FlagRulesConfig())
    seen: list[int] = []
    for t in times_ms:
        seen.append(t)
        expected = sum(1 for s in seen if t - 60_000 < s <= t) >= 3
        result = rules.evaluate(ev(K.ACCESS_DENIED, t / 1000))
        assert any("at this door" in r for r in result.reasons) == expected


def test_adapter_offline_after_two_minutes() -> None:
    settings_ = FlagRulesConfig()
    assert not adapter_offline(T0, T0 + 120 * S, settings_).flagged
    late = adapter_offline(T0, T0 + 120 * S + 1, settings_)
    assert late.flagged and late.severity is Severity.MEDIUM and "120 s" in late.reasons[0]


def test_skew_and_credential_privacy() -> None:
    assert skew_is_large(-121 * S, 120) and skew_is_large(121 * S, 120) and not skew_is_large(120 * S, 120)
    key = b"k" * 32
    digest = credential_hash(key, " 12345678 ")
    assert digest == credential_hash(key, "12345678") != credential_hash(b"x" * 32, "12345678")
    assert "12345678" not in digest and len(digest) == 64
    assert credential_last4("12345678") == "5678" and credential_last4("12") == "12"
    raw = '{"badge": 12345678, "name": "Pat Doe", "card": "12345678"}'
    scrubbed = '{"badge": [redacted], "name": "[redacted]", "card": "[redacted]"}'
    assert scrub_private(raw, ["12345678", "Pat Doe"]) == scrubbed
    assert scrub_private(raw, [None, " "]) == raw and scrub_private(None, ["x"]) is None
    assert cap_raw("é" * 10, 5) == ("éé", True) and cap_raw("abc", 5) == ("abc", False) and cap_raw(None, 1) == (
        None, False)


def test_webhook_signature_fresh_stale_and_wrong() -> None:
    secret, body, now = "0123456789abcdef-secret", b'{"kind": "access_denied"}', T0
    stamp = str(T0 // S)
    good = sign(secret, stamp, body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    verify(secret, stamp, good, body, now, 300)
    verify(secret, stamp, good, body, now + 300 * S, 300)  # at the edge of the window
    cases = [
        (secret, stamp, good, body + b" ", now, "does not match"),  # body changed
        ("another-secret-0123456", stamp, good, body, now, "does not match"),
        (secret, str(T0 // S + 1), good, body, now, "does not match"),  # timestamp is signed too
        (secret, stamp, good, body, now + 301 * S, "more than 300 s"),
        (secret, stamp, good, body, now - 301 * S, "more than 300 s"),
        (secret, "1.5e9", good, body, now, "Unix seconds"),
        (secret, None, good, body, now, "needs both"),
        (secret, stamp, None, body, now, "needs both"),
        (secret, stamp, "sha256=é", body, now, "does not match"),
        (None, stamp, good, body, now, "not enabled"),
    ]
    for key, ts, sig, data, at, words in cases:
        with pytest.raises(AuthenticationError, match=words):
            verify(key, ts, sig, data, at, 300)


def test_memory_is_bounded_by_the_badges_denied_within_the_window() -> None:
    rules = FlagRules(FlagRulesConfig())
    for n in range(MAX_KEYS):  # an hour of distinct badges denied at distinct doors
        rules.evaluate(ev(K.ACCESS_DENIED, n * 3.0, door=f"d{n}", cred=f"c{n}"))
    late = MAX_KEYS * 3.0 + 1000
    rules.evaluate(ev(K.ACCESS_DENIED, late, door="d-new", cred="c-new"))
    assert len(rules._denials_by_door) <= 2 and len(rules._denials_by_credential) <= 2
    # what is still within the window is kept: the repeat rule still sees it
    rules.evaluate(ev(K.ACCESS_DENIED, late + 1, door="d-new", cred="c-new"))
    third = rules.evaluate(ev(K.ACCESS_DENIED, late + 2, door="d-new", cred="c-new"))
    assert any("denials at this door" in r for r in third.reasons)


def test_badge_numbers_written_differently_are_scrubbed_too() -> None:
    # OnGuard sends badge_id_str with leading zeros and badge_id as a JSON number; people write 1234-5678.
    raw = '{"badge_id": 12345678, "badge_id_str": "0012345678", "text": "card 1234-5678 / 1234 5678 / 1.2.3.4.5.6.7.8"}'
    assert scrub_private(raw, ["0012345678"]) == (
        '{"badge_id": [redacted], "badge_id_str": "[redacted]", "text": "card [redacted] / [redacted] / [redacted]"}')
    # the value itself is scrubbed wherever it occurs, even inside a longer number (privacy first)
    assert scrub_private("serial 9123456789, 98765", ["12345678"]) == "serial 9[redacted]9, 98765"
    assert scrub_private("Name PAT DOE", ["Pat Doe"]) == "Name [redacted]"


def test_reasons_lose_every_card_number_like_run() -> None:
    reason = "Access Denied: Invalid Badge - Badge 99887766 expired (reader 12, code 4321)"
    assert scrub_vendor_text(reason) == "Access Denied: Invalid Badge - Badge [redacted] expired (reader 12, code 4321)"
    assert scrub_vendor_text("card 1234-5678 for Pat Doe", ["12345678", "Pat Doe"]) == "card [redacted] for [redacted]"
    assert scrub_vendor_text("Badge 65535 denied") == "Badge [redacted] denied"  # 26-bit Wiegand: up to 5 digits
    assert scrub_vendor_text(scrub_vendor_text(reason)) == scrub_vendor_text(reason) and scrub_vendor_text(None) is None
