"""What a caller may see in listings, and silent per-item decisions (an item the caller may not
see is left out, not refused). The CLI and the daemon's workers act as the appliance and see
everything; an API caller without a subject is refused (AuthenticationError, HTTP 401).

The rules are core.permissions'; this module only applies them to a Caller and the configuration."""

from __future__ import annotations

from vigil.config import CameraConfig, Config
from vigil.core.permissions import Action, Target, camera_visible, sees_placeless_door_events, visible_buildings
from vigil.services.authorize import denial_or_none
from vigil.services.caller import Caller


def sees_camera(caller: Caller, camera_id: str, building: str) -> bool:
    if caller.is_appliance:
        return True
    return camera_visible(caller.require_subject(), camera_id, building)


def visible_cameras(config: Config, caller: Caller) -> list[CameraConfig]:
    """The configured cameras the caller may see, in the configuration's order."""
    return [c for c in config.cameras if sees_camera(caller, c.id, c.building)]


def visible_building_ids(config: Config, caller: Caller) -> frozenset[str]:
    every = frozenset(b.id for b in config.buildings)
    if caller.is_appliance:
        return every
    return visible_buildings(caller.require_subject(), every)


def sees_placeless(caller: Caller) -> bool:
    """Door events at no building (unmapped access points, adapter outages): district staff only."""
    return caller.is_appliance or sees_placeless_door_events(caller.require_subject())


def may(caller: Caller, action: Action, target: Target) -> bool:
    """The decision without its audit entry: for what is left out of a listing, not refused."""
    return denial_or_none(caller, action, target) is None
