"""The delivery worker: sends the incident outbox (`incident_deliveries`, written in the
declaration's own transaction) to the outside recipients, after the commit, never delaying it.

It wakes when an incident changes (`ServiceEnv.incident_listeners`: the listener only sets an
event), when the next pending delivery is due (`Incidents.next_due_ns`), and every POLL_S (the
`vigil incident` command declares from another process). Each due row is one task: a webhook
that is down does not delay the e-mail; only an `ended` waits while its recipient's `declared`
is still pending, so no recipient hears of the end first. Each attempt is marked in a transaction of its own with
an audit entry `incident.deliver` (ok/failed, recipient, attempt, error: never a secret):
delivered, pending again after a backoff (core.incident_messages.DELIVERY_BACKOFF), or failed
for good after `[incidents] delivery_attempts`. The outbox is in the index, so a delivery pending
at a stop is sent after the restart (at least once: receivers de-duplicate on the delivery id).
Drill rows were written as skipped and are never due."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable

import aiohttp

from vigil.config import Config
from vigil.core.errors import VigilError
from vigil.core.incident_messages import (
    IncidentFacts,
    canonical_json,
    delivery_body,
    error_text,
    mail_subject,
    mail_text,
    mqtt_topic,
    next_attempt_ns,
)
from vigil.core.incidents import (
    DeliveryEvent,
    DeliveryState,
    delivery_state_after_failure,
    link_token,
    link_url,
    waits_for_declared,
)
from vigil.core.timebase import NS_PER_SECOND
from vigil.incidents import mail, webhook
from vigil.incidents.mqtt import IncidentMqtt
from vigil.incidents.transport import DeliveryError
from vigil.services.caller import worker_caller
from vigil.services.env import IncidentChange, ServiceEnv
from vigil.services.incidents import link_base_url
from vigil.store.audit_log import append_in
from vigil.store.incidents import DeliveryRow, IncidentRow, Incidents, mark_delivery_in

__all__ = ["DeliveryWorker", "incident_facts"]

log = logging.getLogger(__name__)

POLL_S = 1.0  # deliveries written by another process (the CLI) wait at most this long
MAX_IN_FLIGHT = 16
ACTOR = "incident_delivery"


def incident_facts(row: IncidentRow, config: Config, link_key: bytes, link_expires_ns: int | None) -> IncidentFacts:
    """`link_expires_ns`: the stored link's expiry (None: the incident has no link)."""
    names = {b.id: b.name for b in config.buildings}
    url = None if row.link_id is None else link_url(link_base_url(config), link_token(link_key, row.id))
    return IncidentFacts(
        id=row.id, building_id=row.building_id, building_name=names.get(row.building_id, row.building_id),
        reason=row.reason, drill=row.drill, declared_by=row.declared_by, declared_wall_ns=row.declared_wall_ns,
        ended_wall_ns=row.ended_wall_ns, end_note=row.end_note, link_url=url,
        link_expires_wall_ns=link_expires_ns,
        site_id=config.appliance.site_id)


def declared_pending(store: Incidents, incident_ids: set[int]) -> set[tuple[int, str]]:
    """(incident, recipient) whose `declared` delivery is still pending (blocking)."""
    return {(d.incident_id, d.recipient) for i in incident_ids for d in store.deliveries(i)
            if d.event is DeliveryEvent.DECLARED and d.state is DeliveryState.PENDING}


class DeliveryWorker:
    def __init__(self, env: ServiceEnv, mqtt: IncidentMqtt | None = None, *, clock: Callable[[], int] = time.time_ns,
                 jitter: Callable[[], float] = random.random) -> None:
        self.env = env
        self.mqtt = mqtt
        self.clock = clock
        self.jitter = jitter
        self.wake = asyncio.Event()
        self.in_flight: set[int] = set()
        self.finished: set[int] = set()  # attempts ended since the last query of due rows began
        self.attempts_made = 0
        self._session: aiohttp.ClientSession | None = None

    def on_change(self, change: IncidentChange) -> None:
        """`ServiceEnv.incident_listeners`: on the event loop; only wakes the worker."""
        self.wake.set()

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session, asyncio.TaskGroup() as tasks:
            self._session = session
            store = Incidents(self.env.index)
            while True:
                self.wake.clear()
                now = self.clock()
                await self._start_due(store, tasks, now)
                next_due = await self.env.run(store.next_due_ns)
                wait_s = POLL_S
                if next_due is not None and next_due > now:
                    wait_s = min(wait_s, (next_due - self.clock()) / NS_PER_SECOND)
                if wait_s > 0:
                    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
                    # that comes as the event is set, and the worker would outlive its part
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait_s):
                            await self.wake.wait()

    async def _start_due(self, store: Incidents, tasks: asyncio.TaskGroup, now: int) -> None:
        """One task per due delivery not in flight yet (at most MAX_IN_FLIGHT at a time)."""
        room = MAX_IN_FLIGHT - len(self.in_flight)
        if room <= 0:
            return
        # An attempt that ends while the query runs was read before its mark: not due again yet.
        self.finished.clear()
        due = await self.env.run(lambda: store.due_deliveries(now, MAX_IN_FLIGHT * 2))
        ended = {r.incident_id for r in due if r.event is DeliveryEvent.ENDED}
        if ended:  # an `ended` waits for its recipient's `declared` (a dispatch centre hears of it first)
            waiting = await self.env.run(lambda: declared_pending(store, ended))
            due = [r for r in due if not waits_for_declared(r.event, r.incident_id, r.recipient, waiting)]
        # (after the last await: an attempt that ended meanwhile is in `finished`, not `in_flight`)
        for row in [r for r in due if r.id not in self.in_flight and r.id not in self.finished][:room]:
            self.in_flight.add(row.id)
            tasks.create_task(self._attempt(row))

    async def _attempt(self, row: DeliveryRow) -> None:
        try:
            error = None
            try:
                await self._send(row)
            except DeliveryError as failure:
                error = error_text(str(failure), self.env.config.incidents.secrets)
            except VigilError as failure:  # reading the incident (a busy index): an attempt like any other
                error = error_text(f"{type(failure).__name__}: {failure}", self.env.config.incidents.secrets)
            await self._mark(row, error)
        except VigilError as failure:  # the mark was not written (busy or full index): the row stays due
            log.warning("incident delivery %d to %s: attempt not recorded: %s", row.id, row.recipient, failure)
            await asyncio.sleep(POLL_S)
        finally:
            self.in_flight.discard(row.id)
            self.finished.add(row.id)
            self.wake.set()

    async def _send(self, row: DeliveryRow) -> None:
        env = self.env
        config = env.config
        def read() -> tuple[IncidentRow, bytes, int | None]:
            incident = Incidents(env.index).get(row.incident_id)
            expires = None if incident.link_id is None else env.accounts.link(incident.link_id).grant.expires_ns
            return incident, env.link_key(), expires

        incident, key, expires = await env.run(read)
        facts = incident_facts(incident, config, key, expires)
        settings = config.incidents
        if row.recipient.startswith("webhook:"):
            name = row.recipient.removeprefix("webhook:")
            hook = next((w for w in settings.webhooks if w.name == name), None)
            if hook is None:
                raise DeliveryError(f"no webhook {name!r} in [incidents] any more")
            assert self._session is not None
            await webhook.post(self._session, hook, canonical_json(delivery_body(facts, row.event)), row.id,
                               self.clock())
        elif row.recipient == "mqtt":
            if self.mqtt is None or settings.mqtt is None or settings.mqtt.publish_topic is None:
                raise DeliveryError("no [incidents.mqtt] publish_topic")
            await self.mqtt.publish(mqtt_topic(settings.mqtt.publish_topic, incident.building_id),
                                    canonical_json(delivery_body(facts, row.event)))
        elif row.recipient == "email":
            if settings.email is None:
                raise DeliveryError("no [incidents.email] any more")
            await mail.send(settings.email, mail.message(settings.email, mail_subject(facts, row.event),
                                                         mail_text(facts, row.event), row.id, facts.site_id))
        else:
            raise DeliveryError(f"unknown recipient {row.recipient!r}")

    async def _mark(self, row: DeliveryRow, error: str | None) -> None:
        now = self.clock()
        attempt = row.attempts + 1
        if error is None:
            state, later = DeliveryState.DELIVERED, None
        else:
            state = delivery_state_after_failure(attempt, self.env.config.incidents.delivery_attempts)
            later = next_attempt_ns(now, attempt, self.jitter())
        actor = worker_caller(now, ACTOR)

        def write() -> None:
            with self.env.index.transaction() as c:
                mark_delivery_in(c, row.id, state, now_ns=now, next_attempt_ns=later, error=error)
                append_in(c, now, actor.actor, "incident.deliver", f"incident:{row.incident_id}",
                          "ok" if error is None else "failed", actor.audit_detail({
                              "delivery": row.id, "recipient": row.recipient, "event": row.event.value,
                              "attempt": attempt, "state": state.value, "error": error}))

        await self.env.run(write)
        self.attempts_made += 1
        if error is None:
            log.info("incident %d: %s delivered to %s (attempt %d)", row.incident_id, row.event.value,
                     row.recipient, attempt)
        elif state is DeliveryState.FAILED:
            log.error("incident %d: %s to %s failed for good after %d attempts: %s", row.incident_id,
                      row.event.value, row.recipient, attempt, error)
        elif attempt == 1:
            log.warning("incident %d: %s to %s failed, retrying with backoff: %s", row.incident_id,
                        row.event.value, row.recipient, error)

