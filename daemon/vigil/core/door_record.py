"""From an incoming door event to the record that is stored: credential privacy, payload cap,
skew, door mapping and flag decision folded into one value. Pure.

The credential is kept only as HMAC-SHA256 under a per-appliance key (so a copy of the index does
not reveal badge numbers, and the same badge still matches itself for the repeat rules) plus its
last 4 characters (what staff read off a badge). Cardholder names only when the site opts in.
Both are also scrubbed out of the stored raw payload and the reason, and so is every
card-number-like digit run (core.credential_scrub)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from vigil.core.credential_scrub import scrub_private, scrub_vendor_text
from vigil.core.door_events import DoorEventKind, IncomingDoorEvent
from vigil.core.door_map import MappedPoint
from vigil.core.door_rules import Flagging

# Kinds that are about the adapter or its source system, not a door: no access point is expected.
SOURCE_KINDS = frozenset({DoorEventKind.DEVICE_OFFLINE, DoorEventKind.DEVICE_ONLINE})


def credential_hash(key: bytes, credential: str) -> str:
    return hmac.new(key, credential.strip().encode(), hashlib.sha256).hexdigest()


def credential_last4(credential: str) -> str:
    return credential.strip()[-4:]


def cap_raw(raw: str | None, max_bytes: int) -> tuple[str | None, bool]:
    """(the payload cut to at most `max_bytes` UTF-8 bytes on a character boundary, whether it was cut)."""
    if raw is None:
        return None, False
    data = raw.encode()
    if len(data) <= max_bytes:
        return raw, False
    return data[:max_bytes].decode(errors="ignore"), True


@dataclass(frozen=True)
class NewDoorEvent:
    source: str
    event_id: str
    dedupe_key: str
    occurred_wall_ns: int
    received_wall_ns: int
    kind: DoorEventKind
    reason: str | None
    access_point: str | None
    door_id: str | None
    direction: str | None
    building: str | None
    cameras: tuple[str, ...]
    credential_hash: str | None
    credential_last4: str | None
    cardholder: str | None
    severity: str
    flag_reasons: tuple[str, ...]
    unmapped: bool
    raw: str | None
    raw_truncated: bool

    @property
    def skew_ns(self) -> int:
        return self.received_wall_ns - self.occurred_wall_ns

    @property
    def flagged(self) -> bool:
        return bool(self.flag_reasons)


def stored_reason(kind: DoorEventKind, reason: str | None, private: list[str | None]) -> str | None:
    """The reason as stored and served: the source's words without badge numbers or withheld names
    (both scrub rules); vigil's own reasons for adapter outages only lose the private values."""
    return scrub_private(reason, private) if kind in SOURCE_KINDS else scrub_vendor_text(reason, private)


def is_unmapped(event: IncomingDoorEvent, mapped: MappedPoint | None) -> bool:
    """Door-level events whose access point the map does not know (or that name none)."""
    return mapped is None and event.kind not in SOURCE_KINDS


def to_record(event: IncomingDoorEvent, received_wall_ns: int, mapped: MappedPoint | None, hashed: str | None,
              flagging: Flagging, *, store_cardholder: bool, raw_max_bytes: int) -> NewDoorEvent:
    private = [event.credential, None if store_cardholder else event.cardholder]
    # The payload and the reason cannot leak what the record withholds (core.credential_scrub).
    raw, truncated = cap_raw(scrub_vendor_text(event.raw, private), raw_max_bytes)
    return NewDoorEvent(
        source=event.source, event_id=event.event_id, dedupe_key=event.dedupe_key,
        occurred_wall_ns=event.occurred_wall_ns, received_wall_ns=received_wall_ns, kind=event.kind,
        reason=stored_reason(event.kind, event.reason, private), access_point=event.access_point,
        door_id=None if mapped is None else mapped.door_id,
        direction=None if mapped is None else mapped.direction.value,
        building=None if mapped is None else mapped.building,
        cameras=() if mapped is None else mapped.cameras,
        credential_hash=hashed,
        credential_last4=None if event.credential is None else credential_last4(event.credential),
        cardholder=event.cardholder if store_cardholder else None,
        severity=flagging.severity.label, flag_reasons=flagging.reasons,
        unmapped=is_unmapped(event, mapped), raw=raw, raw_truncated=truncated,
    )
