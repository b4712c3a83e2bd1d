"""What the alert stream says of incidents it did not hear of: those declared or ended by another
process (`vigil incident start|end` writes the index directly). Pure: the open incidents as last
known and as read now are arguments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FeedChange:
    incident_id: int
    building_id: str
    what: str  # "declared" or "ended"


def unheard_changes(known_open: Mapping[int, str], open_now: Mapping[int, str]) -> list[FeedChange]:
    """(incident id -> building) as known and as read now: the declarations and ends between them,
    in id order."""
    declared = [FeedChange(i, b, "declared") for i, b in open_now.items() if i not in known_open]
    ended = [FeedChange(i, b, "ended") for i, b in known_open.items() if i not in open_now]
    return sorted(declared + ended, key=lambda c: (c.incident_id, c.what != "declared"))
