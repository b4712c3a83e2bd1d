"""Who may do what: subjects x actions x buildings/cameras x time. Pure; the API asks it for
every request (see api/routes.py, where every route names its Action).

Roles (one per user):
- district_admin: everything, every building.
- building_admin: footage, export, camera configuration, responder links, bookmarks, evidence
  holds and incidents in their buildings (and deleting anyone's bookmarks there).
- viewer: live and recorded footage of their buildings; bookmarks (deleting only their own).
- installer: camera configuration (in their buildings, or all when none are assigned); no footage.
- door_system: an access-control system's account: posts door events, nothing else.
Talking through a camera's loudspeaker (intercom): building admins in their buildings, district
admins; a responder link only when it was made with talk (and live) for that camera.
Door events: viewers see their buildings' events, building admins also acknowledge them; events
at no building (unmapped access points, adapter outages) are seen by district admins only.
A responder link grants exactly what it names: cameras or whole buildings, live and/or
playback (optionally within a window), until it expires or is revoked."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class Role(enum.Enum):
    DISTRICT_ADMIN = "district_admin"
    BUILDING_ADMIN = "building_admin"
    VIEWER = "viewer"
    INSTALLER = "installer"
    DOOR_SYSTEM = "door_system"


class Action(enum.Enum):
    VIEW_STATUS = "view_status"  # health, own identity, listings (always filtered to what is visible)
    VIEW_LIVE = "view_live"  # live video and snapshots of a camera
    VIEW_PLAYBACK = "view_playback"  # recorded footage and its index
    EXPORT = "export"
    CONFIGURE_CAMERAS = "configure_cameras"
    MANAGE_LINKS = "manage_links"  # create, list and revoke responder links
    MANAGE_USERS = "manage_users"
    VIEW_AUDIT = "view_audit"
    # door events
    POST_DOOR_EVENTS = "post_door_events"
    VIEW_DOOR_EVENTS = "view_door_events"  # the events, their alerts, adapter health
    ACK_DOOR_EVENTS = "ack_door_events"
    # Bookmarks, evidence holds (issue 7): marking footage is not watching it, so not in FOOTAGE.
    BOOKMARK = "bookmark"  # create bookmarks; delete one's own
    HOLD_EVIDENCE = "hold_evidence"  # place, list and release evidence holds
    # Incidents (issue 16): declaring one holds the building's footage and makes a responder link.
    DECLARE_INCIDENT = "declare_incident"  # declare (or join) and end incidents
    # Intercom (issue 18): speak through a camera's or door station's loudspeaker. Listening is
    # VIEW_LIVE (a camera's sound comes with its live video); talking is heard by people on site.
    TALK = "talk"
    # Updates (issue 20): install a new version of the appliance's software (district admins).
    UPDATE_APPLIANCE = "update_appliance"


FOOTAGE = frozenset({Action.VIEW_LIVE, Action.VIEW_PLAYBACK, Action.EXPORT})
_ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.DISTRICT_ADMIN: frozenset(Action),
    Role.BUILDING_ADMIN: frozenset({Action.VIEW_STATUS, *FOOTAGE, Action.CONFIGURE_CAMERAS, Action.MANAGE_LINKS,
                                    Action.VIEW_DOOR_EVENTS, Action.ACK_DOOR_EVENTS,
                                    Action.BOOKMARK, Action.HOLD_EVIDENCE, Action.DECLARE_INCIDENT,
                                    Action.TALK}),
    Role.VIEWER: frozenset({Action.VIEW_STATUS, Action.VIEW_LIVE, Action.VIEW_PLAYBACK, Action.VIEW_DOOR_EVENTS,
                           Action.BOOKMARK}),
    Role.INSTALLER: frozenset({Action.VIEW_STATUS, Action.CONFIGURE_CAMERAS}),
    Role.DOOR_SYSTEM: frozenset({Action.POST_DOOR_EVENTS}),
}
# Actions that are about the whole appliance, not one building.
_GLOBAL_ACTIONS = frozenset({Action.MANAGE_USERS, Action.VIEW_AUDIT, Action.POST_DOOR_EVENTS, Action.UPDATE_APPLIANCE})


@dataclass(frozen=True)
class UserSubject:
    user_id: int
    name: str
    role: Role
    buildings: frozenset[str]

    @property
    def actor(self) -> str:
        return f"user:{self.name}"


@dataclass(frozen=True)
class LinkSubject:
    link_id: int
    cameras: frozenset[str]
    buildings: frozenset[str]
    live: bool
    playback: bool
    playback_start_ns: int | None
    playback_end_ns: int | None
    expires_ns: int
    talk: bool = False  # the link also grants talking through its live cameras (only with live)

    @property
    def actor(self) -> str:
        return f"link:{self.link_id}"


Subject = UserSubject | LinkSubject


@dataclass(frozen=True)
class Target:
    """What an action is about. `building` is the camera's building when a camera is named."""

    building: str | None = None
    camera: str | None = None
    start_ns: int | None = None
    end_ns: int | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def _user_decision(user: UserSubject, action: Action, target: Target) -> Decision:
    if action not in _ROLE_ACTIONS[user.role]:
        return Decision(False, f"role {user.role.value} may not {action.value}")
    if user.role is Role.DISTRICT_ADMIN or action in _GLOBAL_ACTIONS:
        return Decision(True, f"role {user.role.value}")
    if target.building is None and target.camera is not None:
        # e.g. an export or hold of a camera since removed from the configuration: in no
        # building a building-scoped user holds
        return Decision(False, f"camera {target.camera} is in no configured building")
    if target.building is None:
        return Decision(True, f"role {user.role.value}")
    if user.role is Role.INSTALLER and not user.buildings:
        return Decision(True, "installer of every building")
    if target.building in user.buildings:
        return Decision(True, f"role {user.role.value} in building {target.building}")
    return Decision(False, f"building {target.building} is not assigned to {user.name}")


def _link_decision(link: LinkSubject, action: Action, target: Target, now_ns: int) -> Decision:
    if now_ns >= link.expires_ns:
        return Decision(False, "link expired")
    if action is Action.VIEW_STATUS:
        return Decision(True, "link")
    if action is Action.VIEW_LIVE:
        if not link.live:
            return Decision(False, "link does not grant live video")
    elif action is Action.TALK:
        if not (link.live and link.talk):
            return Decision(False, "link does not grant talking")
    elif action is Action.VIEW_PLAYBACK:
        if not link.playback:
            return Decision(False, "link does not grant playback")
        if target.start_ns is None or target.end_ns is None:
            if link.playback_start_ns is not None or link.playback_end_ns is not None:
                return Decision(False, "link grants playback only within its window; name a range")
        else:
            if link.playback_start_ns is not None and target.start_ns < link.playback_start_ns:
                return Decision(False, "range starts before the link's playback window")
            if link.playback_end_ns is not None and target.end_ns > link.playback_end_ns:
                return Decision(False, "range ends after the link's playback window")
    else:
        return Decision(False, f"links never grant {action.value}")
    if target.camera is None and target.building is None:
        return Decision(True, "link")
    if target.camera is not None and target.camera in link.cameras:
        return Decision(True, f"link names camera {target.camera}")
    if target.building is not None and target.building in link.buildings:
        return Decision(True, f"link names building {target.building}")
    return Decision(False, "outside the link's scope")


def decide(subject: Subject, action: Action, target: Target, now_ns: int) -> Decision:
    if isinstance(subject, LinkSubject):
        return _link_decision(subject, action, target, now_ns)
    return _user_decision(subject, action, target)


def visible_buildings(subject: Subject, all_buildings: frozenset[str]) -> frozenset[str]:
    """Buildings whose existence (and cameras) the subject may see in listings."""
    if isinstance(subject, LinkSubject):
        return subject.buildings & all_buildings
    if subject.role is Role.DISTRICT_ADMIN or (subject.role is Role.INSTALLER and not subject.buildings):
        return all_buildings
    return subject.buildings & all_buildings


def camera_visible(subject: Subject, camera: str, building: str) -> bool:
    """Whether a camera appears in the subject's listings."""
    if isinstance(subject, LinkSubject):
        return camera in subject.cameras or building in subject.buildings
    return building in visible_buildings(subject, frozenset({building}))


def sees_placeless_door_events(subject: Subject) -> bool:
    """Door events at no building (unmapped access points, adapter outages): district staff only."""
    return isinstance(subject, UserSubject) and subject.role is Role.DISTRICT_ADMIN


def administers(subject: Subject, building: str | None) -> bool:
    """Whether the subject is an administrator of the building (None: of every building), e.g. to
    delete someone else's bookmark there."""
    if not isinstance(subject, UserSubject):
        return False
    if subject.role is Role.DISTRICT_ADMIN:
        return True
    return subject.role is Role.BUILDING_ADMIN and building is not None and building in subject.buildings


def grants(subject: Subject, cameras_by_building: Mapping[str, Iterable[str]], now_ns: int) -> dict[Action, list[str]]:
    """What the web app may offer the subject: for each action it may take somewhere, the
    buildings where it may take it on at least one camera, or ["*"] for an appliance-wide action
    (manage users, read the audit log). A hint for hiding controls; every request is still decided
    by `decide`. A link's playback is checked over its own window."""
    out: dict[Action, list[str]] = {}
    for action in Action:
        if action is Action.POST_DOOR_EVENTS:
            continue
        if action in _GLOBAL_ACTIONS:
            if decide(subject, action, Target(), now_ns).allowed:
                out[action] = ["*"]
            continue
        where = []
        for building, cameras in sorted(cameras_by_building.items()):
            targets = [Target(building=building)]
            if isinstance(subject, LinkSubject):
                cameras = [c for c in cameras if camera_visible(subject, c, building)]
                start_ns = subject.playback_start_ns if subject.playback_start_ns is not None else 0
                end_ns = subject.playback_end_ns if subject.playback_end_ns is not None else now_ns
                targets = [Target(building=building, camera=c, start_ns=start_ns, end_ns=end_ns) for c in cameras]
            if any(decide(subject, action, t, now_ns).allowed for t in targets):
                where.append(building)
        if where:
            out[action] = where
    return out
