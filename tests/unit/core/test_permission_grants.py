"""core.permissions.grants: what the web app may offer, per action and building."""

from __future__ import annotations

from vigil.core.permissions import Action, LinkSubject, Role, UserSubject, grants

CAMERAS = {"hs": ["hs-1", "hs-2"], "ms": ["ms-1"]}
NOW = 1_000


def user(role: Role, *buildings: str) -> UserSubject:
    return UserSubject(1, "u", role, frozenset(buildings))


def link(cameras: frozenset[str] = frozenset(), buildings: frozenset[str] = frozenset(), *, playback: bool = False,
         expires_ns: int = 2_000) -> LinkSubject:
    return LinkSubject(7, cameras, buildings, True, playback, None, None, expires_ns)


def test_building_admin_gets_their_building_and_no_global_action() -> None:
    got = grants(user(Role.BUILDING_ADMIN, "hs"), CAMERAS, NOW)
    assert got[Action.VIEW_LIVE] == ["hs"] and got[Action.CONFIGURE_CAMERAS] == ["hs"]
    assert Action.MANAGE_USERS not in got and Action.VIEW_AUDIT not in got and Action.POST_DOOR_EVENTS not in got


def test_district_admin_gets_everything_everywhere() -> None:
    got = grants(user(Role.DISTRICT_ADMIN), CAMERAS, NOW)
    assert got[Action.MANAGE_USERS] == ["*"] and got[Action.EXPORT] == ["hs", "ms"]


def test_installer_without_buildings_configures_all_but_sees_no_footage() -> None:
    got = grants(user(Role.INSTALLER), CAMERAS, NOW)
    assert got[Action.CONFIGURE_CAMERAS] == ["hs", "ms"] and Action.VIEW_LIVE not in got


def test_a_camera_link_names_only_its_camera_building() -> None:
    got = grants(link(cameras=frozenset({"hs-2"})), CAMERAS, NOW)
    assert got == {Action.VIEW_STATUS: ["hs"], Action.VIEW_LIVE: ["hs"]}


def test_expired_link_gets_nothing() -> None:
    assert grants(link(buildings=frozenset({"ms"}), playback=True, expires_ns=NOW), CAMERAS, NOW) == {}
