"""Incidents: what a declaration may say and what declaring and ending do. Pure; time and the
configuration are arguments (design/incidents.md has the states and the paths).

Rules:
- An incident is declared for one building, or for a set of cameras of one building, with a
  reason (1-500 characters). A second declaration for a building with an open incident joins it
  (the join is recorded and audited; cameras it names that are not held yet get their holds).
- Declaring holds every named camera (every camera of the building when none is named) from
  `lookback_s` before the declaration, open-ended (`OPEN_HOLD_END_WALL_NS`) until the incident ends;
  ending fixes each hold's end at the end plus `tail_s`. The holds are not released by the end:
  the footage stays protected until someone releases the holds.
- The incident's responder link names the building (or the cameras), grants live video and the
  playback of the incident from the hold's start, and expires at the cap `link_max_hours` after the
  declaration; ending the incident revokes it.
- Its token is derived from the appliance's incident key (HMAC-SHA256 over the incident id), so the
  index stores only the token's SHA-256 like every link's, yet deliveries retried after a restart
  and the page showing it for copying can give the same URL again.
- A drill does everything, but its deliveries to outside recipients are recorded as skipped."""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from vigil.core.door_events import DoorEventKind
from vigil.core.door_rules import Flagging, Severity
from vigil.core.errors import BadRequestError, NotFoundError
from vigil.core.holds import check_text
from vigil.core.links import LINK_PREFIX, LinkGrant
from vigil.core.timebase import NS_PER_SECOND

MAX_REASON_CHARS = 500
MAX_NOTE_CHARS = 4000
OPEN_HOLD_END_WALL_NS = 2**63 - 1  # an open incident's holds end "when the incident ends"


class IncidentState(enum.Enum):
    OPEN = "open"
    ENDED = "ended"


class DeclaredVia(enum.Enum):
    """Which path declared (or joined) an incident."""

    API = "api"  # the web app's button or any API client (the actor says which credential)
    CLI = "cli"  # `vigil incident start`
    MQTT = "mqtt"  # a message on [incidents.mqtt] declare_topic (a panic button)
    DOOR_RULE = "door_rule"  # a door event matching [incidents.door_rule]


class DeliveryEvent(enum.Enum):
    DECLARED = "declared"
    ENDED = "ended"


class DeliveryState(enum.Enum):
    PENDING = "pending"  # waiting for its next attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the configured attempts
    SKIPPED = "skipped"  # a drill: nothing goes to outside recipients


@dataclass(frozen=True)
class Declaration:
    building: str
    cameras: tuple[str, ...]  # the cameras held: the named ones, or every camera of the building
    whole_building: bool  # no camera was named: the link names the building
    reason: str
    drill: bool


def _required_text(name: str, value: object, max_chars: int) -> str:
    text = check_text(name, value, max_chars, required=True)
    assert text is not None  # required: never None
    return text


def make_declaration(*, building: object, cameras: Sequence[object], reason: object, drill: object,
                     camera_buildings: Mapping[str, str], known_buildings: Collection[str]) -> Declaration:
    """A valid declaration, or BadRequestError / NotFoundError saying what is wrong.
    `camera_buildings`: every configured camera's building. Without a building, the named
    cameras' building is the incident's."""
    text = _required_text("reason", reason, MAX_REASON_CHARS)
    if not isinstance(drill, bool):
        raise BadRequestError("drill must be true or false")
    named: list[str] = []
    for camera in cameras:
        if not isinstance(camera, str):
            raise BadRequestError("cameras must be a list of camera ids")
        if camera not in camera_buildings:
            raise NotFoundError(f"no camera {camera!r}")
        named.append(camera)
    if building is None:
        if not named:
            raise BadRequestError("name the building (or the cameras) of the incident")
        building = camera_buildings[named[0]]
    if not isinstance(building, str):
        raise BadRequestError("building must be a building id")
    if building not in known_buildings:
        raise NotFoundError(f"no building {building!r}")
    elsewhere = sorted(c for c in named if camera_buildings[c] != building)
    if elsewhere:
        raise BadRequestError(f"cameras {elsewhere} are not in building {building!r}:"
                              " an incident is about one building")
    everyone = (c for c, b in camera_buildings.items() if b == building)
    held = tuple(sorted(set(named))) if named else tuple(sorted(everyone))
    if not held:
        raise BadRequestError(f"building {building!r} has no cameras to hold")
    return Declaration(building, held, not named, text, drill)


def check_note(note: object) -> str:
    """Ending needs a note (what happened, who ended it and why)."""
    return _required_text("note", note, MAX_NOTE_CHARS)


def check_report_cameras(cameras: Sequence[object], held: Collection[str]) -> tuple[str, ...]:
    """The cameras whose video the report carries: some of those the incident holds."""
    out = []
    for camera in cameras:
        if not isinstance(camera, str) or camera not in held:
            raise BadRequestError(f"report_cameras: {camera!r} is not a camera this incident holds ({sorted(held)})")
        out.append(camera)
    return tuple(sorted(set(out)))


def hold_start_ns(declared_ns: int, lookback_s: float) -> int:
    return declared_ns - round(lookback_s * NS_PER_SECOND)


def hold_end_ns(ended_ns: int, tail_s: float) -> int:
    return ended_ns + round(tail_s * NS_PER_SECOND)


def link_grant(declaration: Declaration, incident_id: int, declared_ns: int, lookback_s: float,
               link_max_hours: float) -> LinkGrant:
    """The incident's responder link: live, and playback from the hold's start, until the cap."""
    drill = " (drill)" if declaration.drill else ""
    return LinkGrant(
        cameras=() if declaration.whole_building else declaration.cameras,
        buildings=(declaration.building,) if declaration.whole_building else (),
        live=True, playback=True, playback_start_ns=hold_start_ns(declared_ns, lookback_s), playback_end_ns=None,
        expires_ns=declared_ns + round(link_max_hours * 3600 * NS_PER_SECOND),
        reason=f"incident {incident_id}{drill}: {declaration.reason}"[:MAX_REASON_CHARS])


def link_token(key: bytes, incident_id: int) -> str:
    """The incident link's token: the same for the same key and incident, unguessable without the key."""
    mac = hmac.new(key, f"vigil-incident-link:{incident_id}".encode(), hashlib.sha256).digest()
    return LINK_PREFIX + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def link_url(base_url: str, token: str) -> str:
    """Where a responder opens the link (`base_url`: [http] public_url, or how the box is reached)."""
    return f"{base_url.rstrip('/')}/l/{token}"


def holds_to_add(declaration: Declaration, already_held: Collection[str]) -> tuple[str, ...]:
    """A joining declaration's cameras that the open incident does not hold yet."""
    return tuple(c for c in declaration.cameras if c not in set(already_held))


def waits_for_declared(event: DeliveryEvent, incident_id: int, recipient: str,
                       declared_pending: Collection[tuple[int, str]]) -> bool:
    """An `ended` delivery waits while the same recipient's `declared` one (`declared_pending`:
    (incident, recipient) pairs) is still pending: no recipient hears of the end first."""
    return event is DeliveryEvent.ENDED and (incident_id, recipient) in declared_pending


def delivery_state_after_failure(attempts: int, max_attempts: int) -> DeliveryState:
    """After a failed attempt (`attempts` counts it): retry, or give up."""
    return DeliveryState.FAILED if attempts >= max_attempts else DeliveryState.PENDING


def door_rule_reason(kind: DoorEventKind, flagging: Flagging, min_severity: Severity,
                     kinds: Collection[DoorEventKind], door_name: str) -> str | None:
    """The reason an incident is declared for a door event under the site's door rule, or None
    when the event does not declare one (the caller checks the rule is enabled and the door is
    in a building)."""
    if flagging.flagged and flagging.severity >= min_severity:
        why = "; ".join(flagging.reasons)
    elif kind in kinds:
        why = kind.value.replace("_", " ")
    else:
        return None
    return f"door rule: {why} at {door_name}"[:MAX_REASON_CHARS]
