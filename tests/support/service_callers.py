"""Callers for service tests: users of each role, a responder link, the CLI acting as the appliance."""

from __future__ import annotations

from vigil.core.permissions import LinkSubject, Role, UserSubject
from vigil.services.caller import Caller, Via

USERS = {
    "district": UserSubject(1, "district", Role.DISTRICT_ADMIN, frozenset()),
    "hs-admin": UserSubject(2, "hs-admin", Role.BUILDING_ADMIN, frozenset({"hs"})),
    "hs-viewer": UserSubject(3, "hs-viewer", Role.VIEWER, frozenset({"hs"})),
}


def user(name: str, now_ns: int) -> Caller:
    return Caller(USERS[name], Via.TOKEN, now_ns, remote="127.0.0.1")


def hs_link(now_ns: int) -> Caller:
    """A responder link to building hs with live video and playback, valid for an hour."""
    link = LinkSubject(7, frozenset(), frozenset({"hs"}), True, True, None, None, now_ns + 3600 * 10**9)
    return Caller(link, Via.LINK, now_ns, remote="127.0.0.1")


def appliance(now_ns: int) -> Caller:
    return Caller(None, Via.CLI, now_ns, name="cli:test")
