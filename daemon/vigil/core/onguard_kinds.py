"""LenelS2 OnGuard event descriptions -> door-event kinds, through a site-editable table.

OnGuard names its logged events with a free-text `description` ("Access Denied: Invalid Badge",
"Door Forced Open", ...) whose exact wording varies with panel firmware and site customisation, so the
mapping is a table: the defaults below, plus the site's `[door_adapters.onguard.kinds]` overrides.
Lookup is case- and space-insensitive: an exact match wins, else the longest table entry that the
description starts with, else `other` (the vendor text is kept as the reason).

Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vigil.core.door_events import DoorEventKind

K = DoorEventKind

DEFAULT_KINDS: Mapping[str, DoorEventKind] = {
    "access granted": K.ACCESS_GRANTED,
    "granted access": K.ACCESS_GRANTED,
    "access granted - no entry made": K.ACCESS_GRANTED,
    "access granted under duress": K.DURESS,
    "access denied": K.ACCESS_DENIED,
    "denied access": K.ACCESS_DENIED,
    "invalid badge": K.ACCESS_DENIED,
    "invalid access level": K.ACCESS_DENIED,
    "invalid pin number": K.ACCESS_DENIED,
    "badge not in panel": K.ACCESS_DENIED,
    "denied count exceeded": K.ACCESS_DENIED,
    "anti-passback violation": K.ACCESS_DENIED,
    "access denied under duress": K.DURESS,
    "duress": K.DURESS,
    "door forced open": K.DOOR_FORCED_OPEN,
    "door forced open restored": K.DOOR_RESTORED,
    "door held open": K.DOOR_HELD_OPEN,
    "door held open restored": K.DOOR_RESTORED,
    "door opened": K.DOOR_OPENED,
    "door closed": K.DOOR_CLOSED,
    "reader tamper": K.TAMPER,
    "cabinet tamper": K.TAMPER,
    "tamper": K.TAMPER,
    "intercom call": K.INTERCOM_CALL,
    "alarm active": K.INPUT_ACTIVE,
    "input point in alarm": K.INPUT_ACTIVE,
    "communications lost": K.DEVICE_OFFLINE,
    "reader offline": K.DEVICE_OFFLINE,
    "communications restored": K.DEVICE_ONLINE,
    "reader online": K.DEVICE_ONLINE,
}


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class KindTable:
    """The effective table: defaults overlaid with the site's entries (keys already normalised)."""

    entries: Mapping[str, DoorEventKind]

    @classmethod
    def with_overrides(cls, overrides: Mapping[str, DoorEventKind]) -> KindTable:
        merged = {_normal(k): v for k, v in DEFAULT_KINDS.items()}
        merged.update({_normal(k): v for k, v in overrides.items()})
        return cls(merged)

    def kind_of(self, description: str) -> DoorEventKind:
        text = _normal(description)
        exact = self.entries.get(text)
        if exact is not None:
            return exact
        prefixes = [k for k in self.entries if text.startswith(k)]
        if prefixes:
            return self.entries[max(prefixes, key=len)]
        return DoorEventKind.OTHER


def parse_kind_overrides(raw: Mapping[str, object]) -> tuple[dict[str, DoorEventKind], list[str]]:
    """Site overrides (`"Description" = "kind"`) and the problems found in them."""
    found: dict[str, DoorEventKind] = {}
    problems: list[str] = []
    for description, kind in raw.items():
        if not isinstance(kind, str):
            problems.append(f"{description!r}: expected a kind name")
            continue
        try:
            found[description] = DoorEventKind(kind)
        except ValueError:
            problems.append(f"{description!r}: unknown kind {kind!r}")
    return found, problems
