"""What the MQTT adapter reads and writes, without the network.

In: one `door-event/v1` JSON document per message. A malformed message gets a short *kind*
(`not_utf8`, `not_json`, `invalid:<field>`) so the adapter logs the first of each kind and only
counts the rest; messages never hold credentials in what is logged (the validation messages of
core.door_events name fields, not badge numbers).

Out: topics under the configured prefix:
- `<prefix>/status`: "online" / "offline" (retained; "offline" is also the last will),
- `<prefix>/flagged`: one JSON document per flagged door event (QoS 1, not retained: a stream),
- `<prefix>/health/<source>`: the latest health of each adapter (retained: a state).

Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from vigil.core.door_events import IncomingDoorEvent, parse_door_event_v1
from vigil.core.errors import BadRequestError
from vigil.core.json_text import JsonTextError, parse_json

_FIELD = re.compile(r"door event: (?:unknown ([a-z_]+)|'([a-z_]+)')")
_TOPIC_LEVEL = re.compile(r"[^A-Za-z0-9_.-]")
STATUS_ONLINE = b"online"
STATUS_OFFLINE = b"offline"


class MalformedError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def json_payload(payload: bytes) -> object:
    """A message's JSON document, or MalformedError (not_utf8, not_json)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError("not_utf8", "the payload is not UTF-8") from None
    try:
        return parse_json(text)
    except JsonTextError as error:
        raise MalformedError("not_json", f"the payload is not JSON ({error})") from None


def parse_message(payload: bytes, source: str) -> IncomingDoorEvent:
    """A message's door event, or MalformedError naming what is wrong."""
    doc = json_payload(payload)
    try:
        return parse_door_event_v1(doc, source=source)
    except BadRequestError as error:
        found = _FIELD.match(str(error))
        field = (found.group(1) or found.group(2)) if found else "document"
        raise MalformedError(f"invalid:{field}", str(error)) from None


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    @property
    def flagged(self) -> str:
        return f"{self.prefix}/flagged"

    def health(self, source: str) -> str:
        """One topic level per source: characters MQTT treats specially are replaced."""
        return f"{self.prefix}/health/{_TOPIC_LEVEL.sub('_', source) or '_'}"

    def is_ours(self, topic: str) -> bool:
        """Topics this adapter publishes (ignored if the subscription also matches them)."""
        return topic.startswith(self.prefix + "/") and topic.split("/")[len(self.prefix.split("/"))] in (
            "status", "flagged", "health")


def encode(body: dict[str, object]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
