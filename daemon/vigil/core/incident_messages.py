"""What an incident's delivery says to outside recipients, and what a panic button's MQTT message
may say. Pure: the incident's values, the link's URL, the building's name and the time are
arguments (design/incidents.md "Deliveries").

- The body (webhook and MQTT): canonical JSON (sorted keys, no spaces, UTF-8), so the signature a
  dispatch centre checks is over exactly the bytes it receives.
- The e-mail: a subject saying what and where (and DRILL, though drills are not delivered), a
  plain-text body with the link for the responders.
- The MQTT trigger's message: `{"building": id, "reason": text, "cameras"?: [ids], "drill"?: bool}`;
  what is wrong with one is a `MalformedError` with a kind (counted, the first of each logged)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from vigil.core.backoff import BackoffPolicy
from vigil.core.incidents import DeliveryEvent
from vigil.core.mqtt_messages import MalformedError, json_payload
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso

__all__ = ["DELIVERY_BACKOFF", "MAX_ERROR_CHARS", "DeclareMessage", "IncidentFacts", "MalformedError",
           "canonical_json", "delivery_body", "error_text", "mail_subject", "mail_text", "mqtt_topic",
           "next_attempt_ns", "parse_declare_message"]

# Deliveries retry quickly at first (a receiver restarting), then once a minute.
DELIVERY_BACKOFF = BackoffPolicy(first_delay_s=1.0, max_delay_s=60.0)
MAX_ERROR_CHARS = 300
MAX_MESSAGE_BYTES = 8192
_TOPIC_LEVEL = re.compile(r"[+#/\x00]")


@dataclass(frozen=True)
class IncidentFacts:
    """What a delivery says about an incident (from its row, the configuration and the link)."""

    id: int
    building_id: str
    building_name: str
    reason: str
    drill: bool
    declared_by: str
    declared_wall_ns: int
    ended_wall_ns: int | None
    end_note: str | None
    link_url: str | None  # the responder link (declared deliveries only)
    link_expires_wall_ns: int | None
    site_id: str | None


def _iso(ns: int | None) -> str | None:
    return None if ns is None else wall_ns_to_iso(ns)


def delivery_body(facts: IncidentFacts, event: DeliveryEvent) -> dict[str, Any]:
    """The JSON document a recipient receives for one event of the incident."""
    body: dict[str, Any] = {
        "type": f"vigil.incident.{event.value}", "incident": facts.id,
        "building": {"id": facts.building_id, "name": facts.building_name},
        "reason": facts.reason, "drill": facts.drill, "declared_at": _iso(facts.declared_wall_ns),
        "declared_by": facts.declared_by, "site": facts.site_id,
    }
    if event is DeliveryEvent.DECLARED:
        body["link"] = facts.link_url
        body["link_expires_at"] = _iso(facts.link_expires_wall_ns)
    else:
        body["ended_at"] = _iso(facts.ended_wall_ns)
        body["note"] = facts.end_note
    return body


def canonical_json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def mail_subject(facts: IncidentFacts, event: DeliveryEvent) -> str:
    drill = "DRILL: " if facts.drill else ""
    what = "declared" if event is DeliveryEvent.DECLARED else "ended"
    return f"{drill}Incident {what} at {facts.building_name} (#{facts.id})"


def mail_text(facts: IncidentFacts, event: DeliveryEvent) -> str:
    """The plain-text message: what, where, when, and for a declaration the responders' link."""
    lines = [mail_subject(facts, event), "",
             f"Building: {facts.building_name} ({facts.building_id})",
             f"Reason: {facts.reason}",
             f"Declared: {_iso(facts.declared_wall_ns)} by {facts.declared_by}"]
    if facts.site_id:
        lines.append(f"Site: {facts.site_id}")
    if event is DeliveryEvent.DECLARED:
        lines += ["", "Live and recorded video of the building for responders:", f"  {facts.link_url}",
                  f"The link works until {_iso(facts.link_expires_wall_ns)} or until the incident ends."]
    else:
        lines += [f"Ended: {_iso(facts.ended_wall_ns)}", f"Note: {facts.end_note}", "",
                  "The responder link no longer works."]
    if facts.drill:
        lines += ["", "This is a DRILL."]
    return "\n".join(lines) + "\n"


def mqtt_topic(publish_topic: str, building_id: str) -> str:
    """`<publish_topic>/<building>`; characters MQTT treats specially are replaced in the level."""
    return f"{publish_topic}/{_TOPIC_LEVEL.sub('_', building_id) or '_'}"


def next_attempt_ns(now_ns: int, attempts: int, jitter_fraction: float,
                    policy: BackoffPolicy = DELIVERY_BACKOFF) -> int:
    """When a delivery that has failed `attempts` times (>= 1) is tried again."""
    return now_ns + round(policy.delay_s(max(attempts - 1, 0), jitter_fraction) * NS_PER_SECOND)


def error_text(error: str, secrets: tuple[str, ...] = ()) -> str:
    """A failure as the delivery row and the audit entry keep it: short, without any secret."""
    for secret in secrets:
        if secret:
            error = error.replace(secret, "***")
    return error[:MAX_ERROR_CHARS]


@dataclass(frozen=True)
class DeclareMessage:
    building: str
    reason: str
    cameras: tuple[str, ...]
    drill: bool


def parse_declare_message(payload: bytes) -> DeclareMessage:
    """A panic button's declaration, or MalformedError (kinds: too_large, not_utf8, not_json,
    not_object, invalid:<field>, unknown_field)."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MalformedError("too_large", f"the message is over {MAX_MESSAGE_BYTES} bytes")
    doc = json_payload(payload)
    if not isinstance(doc, dict):
        raise MalformedError("not_object", "the payload must be a JSON object")
    extra = sorted(set(doc) - {"building", "reason", "cameras", "drill"})
    if extra:
        raise MalformedError("unknown_field", f"unknown fields {extra}")
    building, reason = doc.get("building"), doc.get("reason")
    cameras, drill = doc.get("cameras", []), doc.get("drill", False)
    if not isinstance(building, str) or not building:
        raise MalformedError("invalid:building", "building must be a building id")
    if not isinstance(reason, str) or not reason.strip():
        raise MalformedError("invalid:reason", "reason is required (text)")
    if not isinstance(cameras, list) or not all(isinstance(c, str) for c in cameras):
        raise MalformedError("invalid:cameras", "cameras must be a list of camera ids")
    if not isinstance(drill, bool):
        raise MalformedError("invalid:drill", "drill must be true or false")
    return DeclareMessage(building, reason, tuple(cameras), drill)
