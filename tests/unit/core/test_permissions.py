"""The permission model against an explicit table (written out here, not derived from the code)."""

from __future__ import annotations

import pytest

from vigil.core.permissions import (
    Action,
    LinkSubject,
    Role,
    Target,
    UserSubject,
    administers,
    camera_visible,
    decide,
    sees_placeless_door_events,
    visible_buildings,
)

A = Action
HS, MS = Target(building="hs", camera="hs-cam"), Target(building="ms", camera="ms-cam")
# role -> actions allowed in the user's own building "hs"
OWN: dict[Role, set[Action]] = {
    Role.DISTRICT_ADMIN: set(Action),
    Role.BUILDING_ADMIN: {A.VIEW_STATUS, A.VIEW_LIVE, A.VIEW_PLAYBACK, A.EXPORT, A.CONFIGURE_CAMERAS,
                          A.MANAGE_LINKS, A.VIEW_DOOR_EVENTS, A.ACK_DOOR_EVENTS,
                          A.BOOKMARK, A.HOLD_EVIDENCE, A.DECLARE_INCIDENT, A.TALK},
    Role.VIEWER: {A.VIEW_STATUS, A.VIEW_LIVE, A.VIEW_PLAYBACK, A.VIEW_DOOR_EVENTS, A.BOOKMARK},
    Role.INSTALLER: {A.VIEW_STATUS, A.CONFIGURE_CAMERAS},
    Role.DOOR_SYSTEM: {A.POST_DOOR_EVENTS},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_roles_in_own_and_other_building(role: Role, action: Action) -> None:
    user = UserSubject(1, "u", role, frozenset({"hs"}))
    assert decide(user, action, HS, 0).allowed == (action in OWN[role])
    other = decide(user, action, MS, 0).allowed
    if role is Role.DISTRICT_ADMIN:
        assert other == (action in OWN[role])
    elif action in (A.MANAGE_USERS, A.VIEW_AUDIT):
        assert not other  # not in any non-district role at all
    elif action is A.POST_DOOR_EVENTS:
        assert other == (role is Role.DOOR_SYSTEM)  # a door system posts for every building
    else:
        assert not other, f"{role} must not {action} in another building"


def test_installer_without_buildings_configures_everywhere_but_never_watches() -> None:
    installer = UserSubject(1, "i", Role.INSTALLER, frozenset())
    assert decide(installer, A.CONFIGURE_CAMERAS, MS, 0).allowed
    assert not decide(installer, A.VIEW_LIVE, MS, 0).allowed
    assert visible_buildings(installer, frozenset({"hs", "ms"})) == {"hs", "ms"}


def test_a_camera_in_no_configured_building_is_district_only() -> None:
    """An export or hold can outlive its camera's place in the configuration: only district staff
    may still reach it, never a building admin of some building."""
    removed = Target(building=None, camera="gone-cam")
    for role in (Role.BUILDING_ADMIN, Role.VIEWER):
        assert not decide(UserSubject(1, "u", role, frozenset({"hs"})), A.EXPORT, removed, 0).allowed
    assert decide(UserSubject(1, "d", Role.DISTRICT_ADMIN, frozenset()), A.EXPORT, removed, 0).allowed
    # An appliance-level target (no camera) still lets a role act on what its buildings allow.
    assert decide(UserSubject(1, "u", Role.BUILDING_ADMIN, frozenset({"hs"})), A.EXPORT, Target(), 0).allowed


LINK = LinkSubject(7, frozenset({"hs-cam"}), frozenset(), live=True, playback=True,
                   playback_start_ns=1000, playback_end_ns=2000, expires_ns=10_000)


@pytest.mark.parametrize(("action", "target", "now", "allowed"), [
    (A.VIEW_LIVE, HS, 0, True),
    (A.VIEW_LIVE, MS, 0, False),  # another camera
    (A.VIEW_LIVE, HS, 10_000, False),  # expired
    (A.VIEW_PLAYBACK, Target("hs", "hs-cam", 1000, 2000), 0, True),
    (A.VIEW_PLAYBACK, Target("hs", "hs-cam", 999, 2000), 0, False),  # before the window
    (A.VIEW_PLAYBACK, Target("hs", "hs-cam", 1500, 2001), 0, False),  # after the window
    (A.VIEW_PLAYBACK, HS, 0, False),  # no range named while a window applies
    (A.EXPORT, HS, 0, False),
    (A.MANAGE_LINKS, HS, 0, False),
    (A.BOOKMARK, HS, 0, False),
    (A.HOLD_EVIDENCE, HS, 0, False),
    (A.DECLARE_INCIDENT, HS, 0, False),
    (A.TALK, HS, 0, False),  # made without talk
    (A.VIEW_AUDIT, Target(), 0, False),
    (A.VIEW_STATUS, Target(), 0, True),
])
def test_link_grants_exactly_what_it_names(action: Action, target: Target, now: int, allowed: bool) -> None:
    assert decide(LINK, action, target, now).allowed is allowed


def test_building_link_and_live_only_link() -> None:
    building = LinkSubject(8, frozenset(), frozenset({"ms"}), live=True, playback=False, playback_start_ns=None,
                           playback_end_ns=None, expires_ns=10)
    assert decide(building, A.VIEW_LIVE, MS, 0).allowed
    assert not decide(building, A.VIEW_LIVE, HS, 0).allowed
    assert not decide(building, A.VIEW_PLAYBACK, Target("ms", "ms-cam", 0, 1), 0).allowed
    assert camera_visible(building, "ms-cam", "ms") and not camera_visible(building, "hs-cam", "hs")
    assert camera_visible(LINK, "hs-cam", "hs") and not camera_visible(LINK, "hs-cam2", "hs")


def test_link_talks_only_when_made_with_talk_and_live() -> None:
    talking = LinkSubject(9, frozenset({"hs-cam"}), frozenset(), live=True, playback=False, playback_start_ns=None,
                          playback_end_ns=None, expires_ns=10, talk=True)
    assert decide(talking, A.TALK, HS, 0).allowed
    assert not decide(talking, A.TALK, MS, 0).allowed  # outside its cameras
    assert not decide(talking, A.TALK, HS, 10).allowed  # expired
    playback_only = LinkSubject(10, frozenset({"hs-cam"}), frozenset(), live=False, playback=True,
                                playback_start_ns=None, playback_end_ns=None, expires_ns=10, talk=True)
    assert not decide(playback_only, A.TALK, HS, 0).allowed


def test_door_events_roles_and_placeless_events() -> None:
    door_system = UserSubject(2, "lenel", Role.DOOR_SYSTEM, frozenset())
    assert decide(door_system, A.POST_DOOR_EVENTS, Target(), 0).allowed
    assert not any(decide(door_system, a, HS, 0).allowed for a in Action if a is not A.POST_DOOR_EVENTS)
    assert not decide(LINK, A.VIEW_DOOR_EVENTS, HS, 0).allowed and not decide(LINK, A.POST_DOOR_EVENTS, HS, 0).allowed
    district = UserSubject(3, "d", Role.DISTRICT_ADMIN, frozenset())
    admin = UserSubject(4, "a", Role.BUILDING_ADMIN, frozenset({"hs"}))
    assert sees_placeless_door_events(district)
    assert not sees_placeless_door_events(admin) and not sees_placeless_door_events(LINK)
    assert not sees_placeless_door_events(door_system)


def test_administers_only_own_buildings() -> None:
    district = UserSubject(1, "d", Role.DISTRICT_ADMIN, frozenset())
    admin = UserSubject(2, "a", Role.BUILDING_ADMIN, frozenset({"hs"}))
    viewer = UserSubject(3, "v", Role.VIEWER, frozenset({"hs"}))
    assert administers(district, "ms") and administers(district, None)
    assert administers(admin, "hs") and not administers(admin, "ms") and not administers(admin, None)
    assert not administers(viewer, "hs") and not administers(LINK, "hs")
