"""Door events as every adapter hands them over, and the `door-event/v1` JSON that the webhook and
MQTT adapters take (the OnGuard poller maps vendor records to the same value).

Pure: parsing and validation only. Storing (keyed credential hash, size cap), mapping to doors and
flagging happen downstream; an `IncomingDoorEvent` still holds the raw credential, so it must never
be logged as a whole (`redacted()` is the loggable form)."""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass, replace

from vigil.core.credential_scrub import scrub_vendor_text
from vigil.core.errors import BadRequestError
from vigil.core.timebase import parse_time_ns

SCHEMA_V1 = "door-event/v1"
MAX_ID_CHARS = 200
MAX_TEXT_CHARS = 500


class DoorEventKind(enum.Enum):
    ACCESS_GRANTED = "access_granted"
    ACCESS_DENIED = "access_denied"
    DOOR_FORCED_OPEN = "door_forced_open"
    DOOR_HELD_OPEN = "door_held_open"
    DOOR_RESTORED = "door_restored"
    DOOR_OPENED = "door_opened"
    DOOR_CLOSED = "door_closed"
    DURESS = "duress"
    TAMPER = "tamper"
    INTERCOM_CALL = "intercom_call"
    INPUT_ACTIVE = "input_active"
    DEVICE_OFFLINE = "device_offline"
    DEVICE_ONLINE = "device_online"
    OTHER = "other"


class Direction(enum.Enum):
    IN = "in"
    OUT = "out"
    BOTH = "both"


@dataclass(frozen=True)
class IncomingDoorEvent:
    """One event from one source system, before it is stored.

    `source` names the adapter instance (`webhook`, `mqtt`, `onguard`, or a site-chosen name for a
    second instance); (`source`, `event_id`) identifies the event for de-duplication."""

    source: str
    event_id: str
    occurred_wall_ns: int  # the device's clock
    kind: DoorEventKind
    access_point: str | None  # the access point's id in the source system (the door map's key)
    reason: str | None = None  # why access was denied, in the source's words
    credential: str | None = None  # badge number as sent; stored only as a keyed hash + last 4
    cardholder: str | None = None  # stored only when the site opts in
    raw: str | None = None  # the payload as received (JSON text), capped when stored

    @property
    def dedupe_key(self) -> str:
        return f"{self.source}\x1f{self.event_id}"

    def redacted(self) -> IncomingDoorEvent:
        """The same event without credential, cardholder and raw payload, and with neither (nor any
        card-number-like digits) in its reason: safe to log."""
        return replace(self, credential=None, cardholder=None, raw=None,
                       reason=scrub_vendor_text(self.reason, (self.credential, self.cardholder)))


def _text(doc: dict[str, object], key: str, *, required: bool, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise BadRequestError(f"door event: {key!r} is required")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and key in ("event_id", "credential"):
        value = str(value)  # badge and event numbers often arrive as JSON numbers
    if not isinstance(value, str):
        raise BadRequestError(f"door event: {key!r} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise BadRequestError(f"door event: {key!r} must not be empty")
    if len(value) > max_chars:
        raise BadRequestError(f"door event: {key!r} is longer than {max_chars} characters")
    return value


def parse_occurred_at(text: str) -> int:
    """An RFC 3339 time WITH an offset: a device time without one is ambiguous, so it is refused."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestError(f"door event: 'occurred_at' {text!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise BadRequestError(f"door event: 'occurred_at' {text!r} has no UTC offset (add Z or +hh:mm)")
    try:
        return parse_time_ns(text)
    except ValueError as exc:
        raise BadRequestError(f"door event: 'occurred_at': {exc}") from None


class OccurredOutOfWindowError(BadRequestError):
    """An event whose device time is too far from the appliance's clock to be believed."""


def check_occurred(occurred_wall_ns: int, received_wall_ns: int, max_past_s: float, max_future_s: float) -> None:
    """Refuse an event dated more than `max_past_s` before or `max_future_s` after its arrival
    (`[door_events] occurred_max_past_s` / `occurred_max_future_s`). A device clock reset to 1970 or
    set years ahead would otherwise put the event, and for a flagged one its evidence hold, where no
    footage is or will be for years; such events are refused (the webhook: 400) or dropped and
    counted (MQTT, OnGuard), never stored. Within the window, skew is kept and alerted."""
    ahead_ns = occurred_wall_ns - received_wall_ns
    if ahead_ns > max_future_s * 1e9:
        raise OccurredOutOfWindowError(
            f"door event: 'occurred_at' is {ahead_ns / 1e9:.0f} s ahead of the appliance's clock (at most"
            f" {max_future_s:g} s are accepted: check the device's clock)")
    if -ahead_ns > max_past_s * 1e9:
        raise OccurredOutOfWindowError(
            f"door event: 'occurred_at' is {-ahead_ns / 1e9:.0f} s before the appliance's clock (at most"
            f" {max_past_s:g} s are accepted: check the device's clock)")


def parse_door_event_v1(doc: object, *, source: str | None = None) -> IncomingDoorEvent:
    """Validate one `door-event/v1` document. `source`, when given, is the adapter's own name and
    must match the document's `source` if the document names one."""
    if not isinstance(doc, dict):
        raise BadRequestError("door event: the body must be a JSON object")
    schema = doc.get("schema", SCHEMA_V1)
    if schema != SCHEMA_V1:
        raise BadRequestError(f"door event: unknown schema {schema!r} (this vigil takes {SCHEMA_V1!r})")
    named_source = _text(doc, "source", required=source is None, max_chars=MAX_ID_CHARS)
    if source is not None and named_source is not None and named_source != source:
        raise BadRequestError(f"door event: 'source' {named_source!r} does not match this adapter ({source!r})")
    kind_text = _text(doc, "kind", required=True)
    try:
        kind = DoorEventKind(kind_text)
    except ValueError:
        known = ", ".join(k.value for k in DoorEventKind)
        raise BadRequestError(f"door event: unknown kind {kind_text!r} (known: {known})") from None
    occurred = _text(doc, "occurred_at", required=True)
    assert occurred is not None
    raw = doc.get("raw")
    raw_text = None if raw is None else (raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True))
    event_id = _text(doc, "event_id", required=True, max_chars=MAX_ID_CHARS)
    resolved_source = source if source is not None else named_source
    assert event_id is not None and resolved_source is not None
    return IncomingDoorEvent(
        source=resolved_source,
        event_id=event_id,
        occurred_wall_ns=parse_occurred_at(occurred),
        kind=kind,
        access_point=_text(doc, "access_point", required=False, max_chars=MAX_ID_CHARS),
        reason=_text(doc, "reason", required=False),
        credential=_text(doc, "credential", required=False, max_chars=MAX_ID_CHARS),
        cardholder=_text(doc, "cardholder", required=False),
        raw=raw_text,
    )
