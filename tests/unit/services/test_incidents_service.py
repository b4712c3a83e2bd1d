"""services/incidents.py over a real index: declaring writes the incident, its holds from the
look-back, its link and its delivery rows with their audit entries in one transaction; a second
declaration joins; ending fixes the holds' end and revokes the link; who may see and do what."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from tests.support.audit_failure import count, fail_audit_writes
from tests.support.service_env import NOW, S, appliance, hs_link, user
from vigil.config.model import IncidentsConfig, IncidentWebhookConfig
from vigil.core.errors import BadRequestError, ConflictError, NotFoundError, PermissionDeniedError
from vigil.core.incidents import OPEN_HOLD_END_WALL_NS, DeclaredVia, DeliveryState, IncidentState, link_token
from vigil.services import incidents
from vigil.services.env import IncidentChange, ServiceEnv
from vigil.services.holds import hold_json
from vigil.store.holds import EvidenceStore
from vigil.store.incidents import Incidents


def with_webhook(env: ServiceEnv) -> None:
    hook = IncidentWebhookConfig("dispatch", "http://127.0.0.1:9/hook", "s" * 32)
    env.live.swap(dataclasses.replace(env.config, incidents=IncidentsConfig(lookback_s=600, tail_s=60,
                                                                            webhooks=(hook,))))


async def test_declaring_holds_from_the_lookback_links_and_queues_deliveries(env: ServiceEnv) -> None:
    with_webhook(env)
    changes: list[IncidentChange] = []
    env.incident_listeners.append(changes.append)
    declared = await incidents.declare(env, user("hs-admin"), building="hs", cameras=[], reason="lockdown",
                                       via=DeclaredVia.API)
    row = declared.incident
    assert not declared.joined and row.state is IncidentState.OPEN
    assert (row.building_id, row.cameras, row.whole_building, row.declared_by) == ("hs", ("hs-cam",), True,
                                                                                   "user:hs-admin")
    assert row.hold_start_wall_ns == NOW - 600 * S
    [hold] = EvidenceStore(env.index).holds("hs-cam")
    assert (hold.start_wall_ns, hold.end_wall_ns, hold.incident_id) == (NOW - 600 * S, OPEN_HOLD_END_WALL_NS, row.id)
    link = env.accounts.link(row.link_id or 0)
    assert link.grant.buildings == ("hs",) and link.grant.playback_start_ns == NOW - 600 * S
    token = link_token(env.link_key(), row.id)
    assert env.index.query("SELECT id FROM links WHERE token_sha256 = ?",
                           (hashlib.sha256(token.encode()).hexdigest(),))[0]["id"] == row.link_id
    [delivery] = Incidents(env.index).deliveries(row.id)
    assert (delivery.recipient, delivery.state) == ("webhook:dispatch", DeliveryState.PENDING)
    actions = [e.action for e in env.audit.entries()]
    assert actions == ["link.create", "hold.create", "incident.declare"]
    assert changes == [IncidentChange(row.id, "hs", "declared")]
    view = await incidents.get_incident(env, user("hs-admin"), row.id)
    assert view.link_url is not None and view.link_url.endswith(f"/l/{token}")


async def test_a_second_declaration_joins_the_open_incident(env: ServiceEnv) -> None:
    first = await incidents.declare(env, user("hs-admin"), building="hs", cameras=[], reason="fight",
                                    via=DeclaredVia.API)
    second = await incidents.declare(env, appliance(NOW + S), building="hs", cameras=[], reason="panic button",
                                     via=DeclaredVia.MQTT)
    assert second.joined and second.incident.id == first.incident.id
    assert count(env.index, "SELECT COUNT(*) FROM incidents") == 1
    assert count(env.index, "SELECT COUNT(*) FROM evidence_holds") == 1  # the camera was held already
    [join] = Incidents(env.index).joins(first.incident.id)
    assert (join.via, join.reason) == (DeclaredVia.MQTT, "panic button")


async def test_ending_fixes_the_holds_end_and_revokes_the_link(env: ServiceEnv) -> None:
    with_webhook(env)
    row = (await incidents.declare(env, user("hs-admin"), building="hs", cameras=[], reason="lockdown",
                                   via=DeclaredVia.API)).incident
    [open_hold] = EvidenceStore(env.index).holds("hs-cam")
    assert hold_json(open_hold, NOW)["until_incident_ends"] is True  # the pages say so, not a date in 2262
    with pytest.raises(BadRequestError):
        await incidents.end(env, user("hs-admin", NOW + 10 * S), row.id, "  ")
    ended = await incidents.end(env, user("hs-admin", NOW + 10 * S), row.id, "all clear")
    assert (ended.state, ended.ended_wall_ns, ended.hold_end_wall_ns) == (IncidentState.ENDED, NOW + 10 * S,
                                                                          NOW + 70 * S)
    [hold] = EvidenceStore(env.index).holds("hs-cam")
    assert hold.end_wall_ns == NOW + 70 * S and hold.released_wall_ns is None
    assert hold_json(hold, NOW)["until_incident_ends"] is False
    assert env.accounts.link(row.link_id or 0).revoked_wall_ns == NOW + 10 * S
    assert [d.event.value for d in Incidents(env.index).deliveries(row.id)] == ["declared", "ended"]
    with pytest.raises(ConflictError):
        await incidents.end(env, user("hs-admin", NOW + 20 * S), row.id, "again")
    view = await incidents.get_incident(env, user("hs-admin"), row.id)
    assert view.link_url is None  # ended: nothing to copy


async def test_a_drill_delivers_nothing_outside(env: ServiceEnv) -> None:
    with_webhook(env)
    row = (await incidents.declare(env, user("district"), building="hs", cameras=[], reason="drill", drill=True,
                                   via=DeclaredVia.API)).incident
    assert row.drill
    assert [d.state for d in Incidents(env.index).deliveries(row.id)] == [DeliveryState.SKIPPED]


async def test_who_may_declare_and_see(env: ServiceEnv) -> None:
    with pytest.raises(PermissionDeniedError):
        await incidents.declare(env, user("hs-viewer"), building="hs", cameras=[], reason="x", via=DeclaredVia.API)
    with pytest.raises(PermissionDeniedError):
        await incidents.declare(env, user("hs-admin"), building="ms", cameras=[], reason="x", via=DeclaredVia.API)
    with pytest.raises(NotFoundError):
        await incidents.declare(env, user("district"), building="nowhere", cameras=[], reason="x",
                                via=DeclaredVia.API)
    with pytest.raises(BadRequestError):
        await incidents.declare(env, user("district"), building="hs", cameras=[], reason="", via=DeclaredVia.API)
    ms = (await incidents.declare(env, user("district"), building="ms", cameras=[], reason="x",
                                  via=DeclaredVia.API)).incident
    assert await incidents.list_incidents(env, user("hs-admin"), None) == []
    with pytest.raises(NotFoundError):
        await incidents.get_incident(env, user("hs-admin"), ms.id)
    hs = (await incidents.declare(env, user("hs-admin"), building="hs", cameras=[], reason="x",
                                  via=DeclaredVia.API)).incident
    assert [r.id for r in await incidents.list_incidents(env, user("hs-viewer"), IncidentState.OPEN)] == [hs.id]
    viewer_view = await incidents.get_incident(env, user("hs-viewer"), hs.id)
    assert viewer_view.link_url is None  # a viewer may not manage links
    assert await incidents.list_incidents(env, hs_link(NOW), None) == []  # another link: not its incident


async def test_a_failing_audit_write_leaves_nothing(env: ServiceEnv) -> None:
    fail_audit_writes(env.index, "incident.declare")
    with pytest.raises(Exception, match="audit write failed"):
        await incidents.declare(env, user("hs-admin"), building="hs", cameras=[], reason="x", via=DeclaredVia.API)
    for table in ("incidents", "evidence_holds", "links", "incident_deliveries", "audit"):
        assert count(env.index, f"SELECT COUNT(*) FROM {table}") == 0  # noqa: S608
