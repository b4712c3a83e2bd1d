from __future__ import annotations

import pytest

from vigil.core.door_events import DoorEventKind, parse_door_event_v1
from vigil.core.errors import BadRequestError

GOOD = {
    "schema": "door-event/v1",
    "source": "webhook",
    "event_id": "e-1",
    "occurred_at": "2026-11-28T18:00:00.250+01:00",
    "kind": "access_denied",
    "access_point": "reader-7",
    "reason": "expired badge",
    "credential": 12345678,
    "raw": {"vendor": "x"},
}


def test_parses_a_full_event() -> None:
    event = parse_door_event_v1(GOOD)
    assert event.kind is DoorEventKind.ACCESS_DENIED
    assert event.occurred_wall_ns == 1_795_885_200_250_000_000  # 17:00:00.250 UTC
    assert event.credential == "12345678"
    assert event.raw == '{"vendor": "x"}'
    assert event.dedupe_key == "webhook\x1fe-1"
    assert event.redacted().credential is None and event.redacted().raw is None
    noisy = parse_door_event_v1(GOOD | {"reason": "badge 1234-5678 of Pat Doe; card 99887766", "cardholder": "Pat Doe"})
    assert noisy.redacted().reason == "badge [redacted] of [redacted]; card [redacted]"  # the loggable form


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "exploded"}, "unknown kind"),
    ({"occurred_at": "2026-11-28T18:00:00"}, "no UTC offset"),
    ({"occurred_at": "yesterday"}, "not an RFC 3339"),
    ({"event_id": None}, "'event_id' is required"),
    ({"event_id": ""}, "must not be empty"),
    ({"schema": "door-event/v9"}, "unknown schema"),
    ({"access_point": ["a"]}, "must be a string"),
    ({"reason": "x" * 501}, "longer than"),
])
def test_bad_fields_are_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        parse_door_event_v1({**GOOD, **change})


def test_adapter_source_must_agree() -> None:
    assert parse_door_event_v1({**GOOD, "source": None}, source="mqtt").source == "mqtt"
    with pytest.raises(BadRequestError, match="does not match"):
        parse_door_event_v1(GOOD, source="mqtt")
    with pytest.raises(BadRequestError, match="JSON object"):
        parse_door_event_v1([GOOD])
