"""core/incident_messages.py: what recipients receive, the panic button's message, the retry times."""

from __future__ import annotations

import json

import pytest

from vigil.core.incident_messages import (
    DELIVERY_BACKOFF,
    IncidentFacts,
    MalformedError,
    canonical_json,
    delivery_body,
    error_text,
    mail_subject,
    mail_text,
    mqtt_topic,
    next_attempt_ns,
    parse_declare_message,
)
from vigil.core.incidents import DeliveryEvent, waits_for_declared

S = 1_000_000_000
T0 = 1_790_000_000 * S
FACTS = IncidentFacts(7, "hs", "High School", "lockdown — intruder", False, "user:hs-admin", T0, None, None,
                      "https://vigil.example/l/vigil_l_abc", T0 + 12 * 3600 * S, "springfield-usd")


def test_declared_body_names_the_link_and_when_it_expires() -> None:
    body = delivery_body(FACTS, DeliveryEvent.DECLARED)
    assert body == {
        "type": "vigil.incident.declared", "incident": 7, "building": {"id": "hs", "name": "High School"},
        "reason": "lockdown — intruder", "drill": False, "declared_at": "2026-09-21T14:13:20.000Z",
        "declared_by": "user:hs-admin", "site": "springfield-usd", "link": "https://vigil.example/l/vigil_l_abc",
        "link_expires_at": "2026-09-22T02:13:20.000Z"}


def test_ended_body_has_the_end_and_note_and_no_link() -> None:
    ended = IncidentFacts(**{**FACTS.__dict__, "ended_wall_ns": T0 + 60 * S, "end_note": "all clear"})
    body = delivery_body(ended, DeliveryEvent.ENDED)
    assert body["type"] == "vigil.incident.ended" and body["note"] == "all clear"
    assert body["ended_at"] == "2026-09-21T14:14:20.000Z" and "link" not in body


def test_canonical_json_is_sorted_compact_utf8() -> None:
    data = canonical_json({"b": 1, "a": "é"})
    assert data == '{"a":"é","b":1}'.encode()
    assert json.loads(data) == {"a": "é", "b": 1}


def test_mail_carries_the_link_and_says_drill() -> None:
    text = mail_text(FACTS, DeliveryEvent.DECLARED)
    assert "https://vigil.example/l/vigil_l_abc" in text and "High School" in text and "DRILL" not in text
    drill = IncidentFacts(**{**FACTS.__dict__, "drill": True})
    assert mail_subject(drill, DeliveryEvent.DECLARED).startswith("DRILL: Incident declared at High School")
    assert "This is a DRILL." in mail_text(drill, DeliveryEvent.DECLARED)


def test_mqtt_topic_level_is_the_building_with_wildcards_replaced() -> None:
    assert mqtt_topic("vigil/incidents", "hs") == "vigil/incidents/hs"
    assert mqtt_topic("vigil/incidents", "a+b#c/d") == "vigil/incidents/a_b_c_d"


def test_retries_start_within_a_second_and_cap_at_a_minute() -> None:
    assert next_attempt_ns(T0, 1, 0.999) - T0 <= 1 * S
    assert next_attempt_ns(T0, 1, 0.0) - T0 == S // 2
    assert next_attempt_ns(T0, 20, 0.999) - T0 <= 60 * S
    assert next_attempt_ns(T0, 20, 0.999) - T0 >= 59 * S
    assert DELIVERY_BACKOFF.max_delay_s == 60.0


def test_error_text_hides_secrets_and_is_short() -> None:
    assert error_text("auth failed for hunter2hunter2", ("hunter2hunter2",)) == "auth failed for ***"
    assert len(error_text("x" * 1000)) == 300


def test_a_declare_message() -> None:
    msg = parse_declare_message(b'{"building": "hs", "reason": "panic button 3", "cameras": ["c1"], "drill": true}')
    assert (msg.building, msg.reason, msg.cameras, msg.drill) == ("hs", "panic button 3", ("c1",), True)
    assert parse_declare_message(b'{"building": "hs", "reason": "x"}').drill is False


@pytest.mark.parametrize(("payload", "kind"), [
    (b"\xff\xfe", "not_utf8"),
    (b"{nope", "not_json"),
    (b"[" * 100_000, "too_large"),
    (b"[" * 5000, "not_json"),
    (b'["hs"]', "not_object"),
    (b'{"building": "hs"}', "invalid:reason"),
    (b'{"building": "hs", "reason": "   "}', "invalid:reason"),
    (b'{"reason": "x"}', "invalid:building"),
    (b'{"building": 3, "reason": "x"}', "invalid:building"),
    (b'{"building": "hs", "reason": "x", "cameras": "c1"}', "invalid:cameras"),
    (b'{"building": "hs", "reason": "x", "drill": "yes"}', "invalid:drill"),
    (b'{"building": "hs", "reason": "x", "severity": 3}', "unknown_field"),
])
def test_malformed_declare_messages_say_what_is_wrong(payload: bytes, kind: str) -> None:
    with pytest.raises(MalformedError) as caught:
        parse_declare_message(payload)
    assert caught.value.kind == kind


def test_an_end_waits_for_its_recipients_declaration() -> None:
    pending = {(7, "webhook:dispatch")}
    assert waits_for_declared(DeliveryEvent.ENDED, 7, "webhook:dispatch", pending)
    assert not waits_for_declared(DeliveryEvent.ENDED, 7, "email", pending)  # another recipient goes on
    assert not waits_for_declared(DeliveryEvent.DECLARED, 7, "webhook:dispatch", pending)
