"""What the district hub makes of a site's message (issue 17, design/district.md): the building it
concerns, its one-line headline for the district's event list (e.g. "Denied badge at East Entrance
(Lincoln HS)"), the Event JSON the hub's API and stream send, and what a text search matches.

Pure. A site's message is input from another machine: every text taken from it is cut to one line
of bounded length, and names come from the site's own inventory (ids when it has not sent one)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vigil.core.district import SiteMessage, SiteTopic
from vigil.core.errors import BadRequestError
from vigil.core.timebase import wall_ns_to_iso

MAX_HEADLINE_CHARS = 200
MAX_NAME_CHARS = 80
MAX_QUERY_WORDS = 8
MAX_QUERY_CHARS = 200
# The kinds stored in site_messages (health, inventory and bridge update the site's row instead).
STORED_KINDS = frozenset({SiteTopic.CAMERA, SiteTopic.DOOR_EVENT, SiteTopic.INCIDENT, SiteTopic.STORAGE})
SEARCHED_KINDS = (SiteTopic.DOOR_EVENT, SiteTopic.INCIDENT)  # the rest of the search is the sites' own

_DOOR_WORDS = {
    "access_denied": "Denied badge",
    "access_granted": "Badge granted",
    "door_forced_open": "Door forced open",
    "door_held_open": "Door held open",
    "door_restored": "Door restored",
    "door_opened": "Door opened",
    "door_closed": "Door closed",
    "duress": "Duress",
    "tamper": "Tamper",
    "intercom_call": "Intercom call",
    "input_active": "Input active",
    "device_offline": "Door controller offline",
    "device_online": "Door controller online",
}
_INCIDENT_WORDS = {"declared": "declared", "joined": "joined", "ended": "ended"}
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(value: object, limit: int = MAX_NAME_CHARS) -> str:
    """A site's text as one printable line of at most `limit` characters ('' for none)."""
    if value is None or isinstance(value, dict | list):
        return ""
    text = " ".join(_UNPRINTABLE.sub(" ", str(value)).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class SiteNames:
    """A site's names, from its retained inventory message (ids when there is none yet)."""

    site_name: str
    buildings: Mapping[str, str]
    cameras: Mapping[str, str]
    doors: Mapping[str, str]

    def building(self, building_id: str | None) -> str:
        if not building_id:
            return self.site_name
        return self.buildings.get(building_id) or building_id

    def door(self, door_id: str) -> str:
        return self.doors.get(door_id) or door_id

    def camera(self, camera_id: str) -> str:
        return self.cameras.get(camera_id) or camera_id


def _id_names(items: object) -> dict[str, str]:
    names: dict[str, str] = {}
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("id"), str | int):
                name = one_line(item.get("name"))
                names[str(item["id"])] = name or str(item["id"])
    return names


def site_names(site_name: str, inventory: Mapping[str, Any] | None) -> SiteNames:
    inventory = inventory or {}
    return SiteNames(one_line(site_name) or "?", _id_names(inventory.get("buildings")),
                     _id_names(inventory.get("cameras")), _id_names(inventory.get("doors")))


def building_of(message: SiteMessage) -> str | None:
    """The building id the message concerns (None: the whole site, e.g. a storage warning)."""
    value = message.data.get("building")
    if not isinstance(value, str | int):
        return None
    return one_line(value) or None


def _text(data: Mapping[str, Any], key: str) -> str:
    return one_line(data.get(key))


def headline(message: SiteMessage, names: SiteNames) -> str:
    """One line for the district's list of events."""
    data = message.data
    where = names.building(building_of(message))
    if message.kind is SiteTopic.DOOR_EVENT:
        kind = _text(data, "kind")
        what = _DOOR_WORDS.get(kind) or (kind.replace("_", " ").capitalize() if kind else "Door event")
        door = _text(data, "door")
        line = f"{what} at {names.door(door)} ({where})" if door else f"{what} ({where})"
    elif message.kind is SiteTopic.INCIDENT:
        drill = "Drill" if data.get("drill") is True else "Incident"
        what = _INCIDENT_WORDS.get(_text(data, "what"), _text(data, "what") or "reported")
        reason = _text(data, "reason")
        line = f"{drill} {what} in {where}" + (f": {reason}" if reason else "")
    elif message.kind is SiteTopic.CAMERA:
        camera = names.camera(_text(data, "camera")) or "a camera"
        state = "up" if data.get("state") == "up" else "down"
        reason = _text(data, "reason")
        line = f"Camera {camera} {state} ({where})" + (f": {reason}" if reason and state == "down" else "")
    elif message.kind is SiteTopic.STORAGE:
        problem = _text(data, "problem")
        detail = _text(data, "detail")
        if problem:
            line = f"Storage {problem.replace('_', ' ')} at {names.site_name}" + (f": {detail}" if detail else "")
        else:
            line = f"Storage fine again at {names.site_name}"
    else:
        line = f"{message.kind.value} from {names.site_name}"
    return one_line(line, MAX_HEADLINE_CHARS)


@dataclass(frozen=True)
class StoredEvent:
    """A row of site_messages as the hub's API shows it."""

    id: int
    site: str
    kind: str
    at_ns: int  # the site's clock
    received_ns: int  # the hub's
    building: str | None
    headline: str
    data: Mapping[str, Any]


def event_json(event: StoredEvent) -> dict[str, Any]:
    """The contract's Event: {id, site, kind, at, received_at, building, headline, data}."""
    return {"id": event.id, "site": event.site, "kind": event.kind, "at": wall_ns_to_iso(event.at_ns),
            "received_at": wall_ns_to_iso(event.received_ns), "building": event.building,
            "headline": event.headline, "data": dict(event.data)}


def scope_pairs(scopes: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    """A hub user's scopes `"<site>/<building>"` as (site, building) pairs."""
    pairs = set()
    for scope in scopes:
        site, _, building = scope.partition("/")
        if site and building:
            pairs.add((site, building))
    return frozenset(pairs)


def event_visible(pairs: frozenset[tuple[str, str]] | None, site: str, building: str | None) -> bool:
    """Whether a user with these scopes (None: a district admin, everything) sees an event: one
    about a building needs that building; one about the whole site (building None), the site."""
    if pairs is None:
        return True
    if building is None:
        return any(s == site for s, _ in pairs)
    return (site, building) in pairs


def search_words(q: str | None) -> tuple[str, ...]:
    """The words of a search: each must occur in an event's headline (case-insensitive), so
    "denied east" finds "Denied badge at East Entrance (Lincoln HS)"."""
    if q is None or not q.strip():
        raise BadRequestError("q: give at least one word to search for")
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequestError(f"q: at most {MAX_QUERY_CHARS} characters")
    words = tuple(dict.fromkeys(w.casefold() for w in q.split()))
    if len(words) > MAX_QUERY_WORDS:
        raise BadRequestError(f"q: at most {MAX_QUERY_WORDS} words")
    return words


def like_pattern(word: str) -> str:
    """An SQL LIKE pattern (ESCAPE '\\') matching `word` anywhere."""
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def matches(words: tuple[str, ...], text: str) -> bool:
    """What the store's LIKE search finds, for texts searched here (e.g. a site's results)."""
    folded = text.casefold()
    return all(w in folded for w in words)


def parse_kind(value: str | None) -> SiteTopic | None:
    if value is None or value == "":
        return None
    try:
        kind = SiteTopic(value)
    except ValueError:
        kind = None
    if kind not in STORED_KINDS:
        raise BadRequestError(f"kind: one of {', '.join(sorted(k.value for k in STORED_KINDS))}")
    return kind
