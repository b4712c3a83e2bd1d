"""services/incident_activity.py over a real index: the incident link's viewers (out of every live
session) and its audited uses since the declaration, for who may manage links there; the door
events at the incident's building over its hold, for who sees them and for the incident's own link."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.service_env import NOW, S, user
from vigil.core.errors import NotFoundError, PermissionDeniedError
from vigil.core.incidents import DeclaredVia
from vigil.core.permissions import LinkSubject, Role, UserSubject
from vigil.services import incidents
from vigil.services.caller import Caller, Via
from vigil.services.env import ServiceEnv
from vigil.services.incident_activity import LiveView, incident_activity, incident_door_events
from vigil.store.incidents import IncidentRow


async def _declared(env: ServiceEnv) -> IncidentRow:
    declared = await incidents.declare(env, user("hs-admin"), building="hs", cameras=[], reason="lockdown",
                                       via=DeclaredVia.API)
    return declared.incident


def _link_caller(row: IncidentRow, now_ns: int) -> Caller:
    assert row.link_id is not None
    subject = LinkSubject(row.link_id, frozenset(), frozenset({"hs"}), True, True, row.hold_start_wall_ns, None,
                          now_ns + 3600 * S)
    return Caller(subject, Via.LINK, now_ns, remote="198.51.100.4")


async def test_activity_is_the_links_sessions_and_uses_since_the_declaration(env: ServiceEnv) -> None:
    env.audit.append(NOW - S, "link:999", "live.view", "camera:hs-cam", "ok")  # another link, before
    row = await _declared(env)
    actor = f"link:{row.link_id}"
    env.audit.append(NOW + S, actor, "live.view", "camera:hs-cam", "ok", {"session": "abcd1234"})
    env.audit.append(NOW + 2 * S, "user:hs-viewer", "live.view", "camera:hs-cam", "ok")
    env.audit.append(NOW + 3 * S, actor, "link.use GET /api/incidents/{incident_id}/door_events", "appliance", "ok")
    live = [LiveView(actor, "hs-cam", NOW + 5 * S), LiveView("user:hs-viewer", "hs-cam", NOW + 4 * S),
            LiveView(actor, "hs-cam", NOW + 2 * S, "198.51.100.4")]
    found = await incident_activity(env, user("hs-admin", NOW + 6 * S), row.id, live)
    assert [(v.started_wall_ns, v.remote) for v in found.viewers] == [(NOW + 2 * S, "198.51.100.4"),
                                                                       (NOW + 5 * S, None)]
    assert [(e.actor, e.action) for e in found.accesses] == [
        (actor, "live.view"), (actor, "link.use GET /api/incidents/{incident_id}/door_events")]


async def test_activity_is_for_who_manages_links_there(env: ServiceEnv) -> None:
    row = await _declared(env)
    with pytest.raises(PermissionDeniedError):  # sees the incident, may not manage links
        await incident_activity(env, user("hs-viewer"), row.id, [])
    with pytest.raises(PermissionDeniedError):
        await incident_activity(env, _link_caller(row, NOW + S), row.id, [])
    other = Caller(UserSubject(9, "ms-admin", Role.BUILDING_ADMIN, frozenset({"ms"})), Via.TOKEN, NOW)
    with pytest.raises(NotFoundError):  # another building's admin does not see it at all
        await incident_activity(env, other, row.id, [])
    assert [e.outcome for e in env.audit.entries(action="manage_links")] == ["denied", "denied"]


async def test_door_events_for_who_sees_them_and_the_incidents_own_link(env: ServiceEnv) -> None:
    row = await _declared(env)
    own = _link_caller(row, NOW + S)
    assert (await incident_door_events(env, own, row.id))[1] == []
    assert (await incident_door_events(env, user("hs-viewer"), row.id))[1] == []
    subject = own.require_subject()
    assert isinstance(subject, LinkSubject)
    another_link = Caller(dataclasses.replace(subject, link_id=subject.link_id + 100), Via.LINK, NOW + S)
    with pytest.raises(NotFoundError):
        await incident_door_events(env, another_link, row.id)
