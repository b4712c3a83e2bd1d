"""Responder link grants: what a request may ask for, checked in one place for the API and the CLI.

Pure: the caller supplies the known camera and building ids, the limit and the time."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from vigil.core.errors import BadRequestError
from vigil.core.timebase import NS_PER_SECOND

MAX_REASON_CHARS = 500
LINK_PREFIX = "vigil_l_"  # a responder link's token starts so


@dataclass(frozen=True)
class LinkGrant:
    """What a responder link names (as stored with it)."""

    cameras: tuple[str, ...]
    buildings: tuple[str, ...]
    live: bool
    playback: bool
    playback_start_ns: int | None
    playback_end_ns: int | None
    expires_ns: int
    reason: str
    talk: bool = False  # also talk through the link's live cameras (issue 18)


def make_grant(
    *,
    cameras: Collection[str],
    buildings: Collection[str],
    reason: str,
    live: bool,
    playback: bool,
    playback_start_ns: int | None,
    playback_end_ns: int | None,
    expires_in_s: float,
    known_cameras: Collection[str],
    known_buildings: Collection[str],
    max_hours: float,
    now_ns: int,
    talk: bool = False,
) -> LinkGrant:
    """A valid grant, or BadRequestError saying what is wrong with the request."""
    for key, ids, known in (("cameras", cameras, known_cameras), ("buildings", buildings, known_buildings)):
        unknown = sorted(set(ids) - set(known))
        if unknown:
            raise BadRequestError(f"{key}: unknown ids {unknown}")
    if not cameras and not buildings:
        raise BadRequestError("name at least one camera or building")
    if not reason.strip() or len(reason) > MAX_REASON_CHARS:
        raise BadRequestError(f"reason (incident number or text, 1-{MAX_REASON_CHARS} characters) is required")
    if not (live or playback):
        raise BadRequestError("live and playback must be true/false, and at least one true")
    if not 0 < expires_in_s <= max_hours * 3600:
        raise BadRequestError(f"expiry must be positive and at most {max_hours} hours")
    if playback_start_ns is not None and playback_end_ns is not None and playback_end_ns <= playback_start_ns:
        raise BadRequestError("playback_end must be after playback_start")
    if (playback_start_ns is not None or playback_end_ns is not None) and not playback:
        raise BadRequestError("a playback window needs playback: true")
    if talk and not live:
        raise BadRequestError("talk needs live: true (a responder talks through a camera they watch live)")
    return LinkGrant(tuple(sorted(set(cameras))), tuple(sorted(set(buildings))), live, playback, playback_start_ns,
                     playback_end_ns, now_ns + int(expires_in_s * NS_PER_SECOND), reason.strip(), talk)


def landing_location(buildings: Collection[str]) -> str:
    """Where a responder link's landing sends the browser: the map of its building when the
    link's cameras and buildings are all in one (a phone in a car opens on the right plan, the
    live view a tap away), else the campus map. `buildings`: the link's buildings and those of
    the cameras it names."""
    unique = sorted(set(buildings))
    return f"/#/map/{unique[0]}" if len(unique) == 1 else "/#/map"
