"""core.onguard / core.onguard_kinds / core.mqtt_messages: the pure parts of the door adapters."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.core import onguard as og
from vigil.core.door_events import DoorEventKind
from vigil.core.mqtt_messages import MalformedError, Topics, parse_message
from vigil.core.onguard_kinds import KindTable, parse_kind_overrides

S = 1_000_000_000
NOW = 1_795_880_400 * S  # 2026-11-28T15:40:00Z
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def test_first_window_looks_back_then_windows_overlap_the_cursor() -> None:
    first = og.next_window(None, NOW, overlap_s=120, first_lookback_s=3600, max_backfill_s=86_400)
    assert first == og.Window(NOW - 3600 * S, NOW)
    later = og.next_window(first.end_wall_ns, NOW + 5 * S, overlap_s=120, first_lookback_s=3600, max_backfill_s=86_400)
    assert later == og.Window(NOW - 120 * S, NOW + 5 * S)


def test_backfill_after_a_long_outage_is_capped() -> None:
    window = og.next_window(NOW - 30 * 86_400 * S, NOW, overlap_s=120, first_lookback_s=60, max_backfill_s=86_400)
    assert window.start_wall_ns == NOW - 86_400 * S


def test_a_cursor_from_the_future_does_not_skip_events() -> None:
    window = og.next_window(NOW + 3600 * S, NOW, overlap_s=10, first_lookback_s=60, max_backfill_s=86_400)
    assert window == og.Window(NOW - 10 * S, NOW)


@given(st.integers(0, 2**62), st.integers(0, 10**6), st.floats(0.001, 1e5))
def test_consecutive_windows_never_leave_a_gap(cursor: int, advance_ms: int, overlap_s: float) -> None:
    now = cursor + advance_ms * 1_000_000
    window = og.next_window(cursor, now, overlap_s=overlap_s, first_lookback_s=1, max_backfill_s=1e9)
    assert window.start_wall_ns <= cursor <= window.end_wall_ns == now


def test_cursor_round_trip_and_garbage() -> None:
    assert og.parse_cursor(og.format_cursor(NOW)) == NOW
    for bad in (None, "", "nonsense", "[]", '{"until_wall_ns": -1}', '{"until_wall_ns": "1"}', '{"x": 1}'):
        assert og.parse_cursor(bad) is None


def test_filter_in_the_server_zone_widened_to_whole_seconds() -> None:
    window = og.Window(NOW + 400_000_000, NOW + 10 * S + 1)
    assert og.window_filter(window, dt.UTC) == (
        'timestamp >= "2026-11-28T15:40:00" AND timestamp < "2026-11-28T15:40:11"')
    assert og.window_filter(window, CHICAGO).startswith('timestamp >= "2026-11-28T09:40:00"')


def test_requests_put_the_password_in_the_body_and_hide_secrets_in_repr() -> None:
    login = og.login_request("app-1", "vigil", "pw-secret", "dir-1", "1.0")
    assert (login.method, login.path, dict(login.params)) == ("POST", "/authentication", {"version": "1.0"})
    assert login.body == {"user_name": "vigil", "password": "pw-secret", "directory_id": "dir-1"}
    assert dict(login.headers) == {"Application-Id": "app-1"}
    assert "pw-secret" not in repr(login)
    events = og.events_request("app-1", "tok-secret", og.Window(NOW, NOW + S), dt.UTC, 2, 100, "1.0")
    assert dict(events.params) == {"filter": og.window_filter(og.Window(NOW, NOW + S), dt.UTC), "page_number": "2",
                                   "page_size": "100", "version": "1.0"}
    assert events.headers["Session-Token"] == "tok-secret" and "tok-secret" not in repr(events)
    with pytest.raises(ValueError):
        og.events_request("a", "t", og.Window(NOW, NOW + S), dt.UTC, 1, 101, "1.0")


@pytest.mark.parametrize(("status", "body", "login", "expected"), [
    (401, {"error": {"code": "openaccess.general.invalidsessiontoken"}}, False, og.Failure.SESSION),
    (401, None, False, og.Failure.SESSION),
    (400, {"error": {"code": "x.sessionexpired"}}, False, og.Failure.SESSION),
    (401, {"error": {"code": "openaccess.general.invalidcredentials"}}, True, og.Failure.LOGIN),
    (503, {"error": {"code": "x"}}, False, og.Failure.UNAVAILABLE),
    (503, None, True, og.Failure.UNAVAILABLE),
    (429, None, False, og.Failure.UNAVAILABLE),
    (400, {"error": {"code": "openaccess.general.invalidfilter"}}, False, og.Failure.REJECTED),
    (404, None, False, og.Failure.REJECTED),
])
def test_error_classes(status: int, body: object, login: bool, expected: og.Failure) -> None:
    assert og.classify_error(status, body, during_login=login) is expected


def test_pages() -> None:
    page = og.parse_events_page({"item_list": [{"a": 1}], "page_number": 2, "total_pages": 3}, 2)
    assert page.items == ({"a": 1},) and not page.last
    assert og.parse_events_page({"item_list": [{"a": 1}], "page_number": 3, "total_pages": 3}, 3).last
    assert og.parse_events_page({"item_list": [], "page_number": 1, "total_pages": 0}, 1).last
    for bad, message in (([], "not a JSON object"), ({"item_list": {}}, "item_list"),
                         ({"item_list": [], "page_number": 5}, "asked for page 1"),
                         ({"item_list": [], "total_pages": "2"}, "total_pages")):
        with pytest.raises(og.ProtocolError, match=message):
            og.parse_events_page(bad, 1)
    with pytest.raises(og.ProtocolError):
        og.parse_session_token({"token": "x"})
    assert og.parse_session_token({"session_token": "abc"}) == "abc"


ITEM = {"serial_number": 42, "timestamp": "2026-11-28T09:40:00", "description": "Access Denied: Invalid Badge",
        "controller_id": 3, "device_id": 9, "badge_id": 1234567, "cardholder_first_name": "Pat",
        "cardholder_last_name": " "}


def test_vendor_record_to_door_event() -> None:
    event = og.to_door_event(ITEM, "onguard", KindTable.with_overrides({}), CHICAGO)
    assert event.occurred_wall_ns == NOW  # a timestamp without offset is the server's local time
    assert event.kind is DoorEventKind.ACCESS_DENIED and event.reason == "Access Denied: Invalid Badge"
    assert (event.event_id, event.access_point, event.credential, event.cardholder) == (
        "3/42/2026-11-28T09:40:00", "3.9", "1234567", "Pat")
    assert json.loads(event.raw or "") == ITEM
    with_offset = og.to_door_event(ITEM | {"timestamp": "2026-11-28T15:40:00Z"}, "onguard",
                                   KindTable.with_overrides({}), CHICAGO)
    assert with_offset.occurred_wall_ns == NOW
    for bad in ({"timestamp": "x", "serial_number": 1}, {"serial_number": 1}, {"timestamp": "2026-01-01T00:00:00"}):
        with pytest.raises(og.ProtocolError):
            og.to_door_event(bad, "onguard", KindTable.with_overrides({}), dt.UTC)


def test_kind_table_exact_then_longest_prefix_then_other_and_overrides() -> None:
    table = KindTable.with_overrides({"Door Opened": DoorEventKind.INPUT_ACTIVE,
                                      "  ALARM   panel": DoorEventKind.TAMPER})
    assert table.kind_of("Door Forced Open Restored") is DoorEventKind.DOOR_RESTORED
    assert table.kind_of("door  forced open") is DoorEventKind.DOOR_FORCED_OPEN
    assert table.kind_of("Access Denied: Invalid Access Level") is DoorEventKind.ACCESS_DENIED
    assert table.kind_of("Door Opened") is DoorEventKind.INPUT_ACTIVE  # the site's override wins
    assert table.kind_of("alarm panel 3 lid") is DoorEventKind.TAMPER
    assert table.kind_of("Elevator Floor Selected") is DoorEventKind.OTHER
    found, problems = parse_kind_overrides({"A": "duress", "B": "teleport", "C": 3})
    assert found == {"A": DoorEventKind.DURESS} and len(problems) == 2


def test_mqtt_messages() -> None:
    doc = {"event_id": 7, "occurred_at": "2026-11-28T15:40:00Z", "kind": "tamper", "access_point": "r1"}
    event = parse_message(json.dumps(doc).encode(), "mqtt")
    assert (event.source, event.event_id, event.occurred_wall_ns) == ("mqtt", "7", NOW)
    cases = {b"\xff": "not_utf8", b"{": "not_json", b"[]": "invalid:document",
             b"[" * 100_000 + b"]" * 100_000: "not_json",  # too deep: no RecursionError out of the adapter
             b'{"event_id": ' + b"9" * 5000 + b"}": "not_json",  # beyond Python's int digit limit
             json.dumps(doc | {"occurred_at": "2262-04-12T00:00:00Z"}).encode(): "invalid:occurred_at",
             json.dumps(doc | {"kind": "x"}).encode(): "invalid:kind",
             json.dumps(doc | {"occurred_at": "2026-11-28T15:40:00"}).encode(): "invalid:occurred_at",
             json.dumps(doc | {"schema": "door-event/v9"}).encode(): "invalid:schema",
             json.dumps({k: v for k, v in doc.items() if k != "event_id"}).encode(): "invalid:event_id"}
    for payload, kind in cases.items():
        with pytest.raises(MalformedError) as caught:
            parse_message(payload, "mqtt")
        assert caught.value.kind == kind
    topics = Topics("site/vigil")
    assert topics.health("on guard/#1") == "site/vigil/health/on_guard__1"
    assert topics.is_ours("site/vigil/flagged") and not topics.is_ours("site/vigil/doors/in")
    assert not topics.is_ours("site/vigilx/status")
