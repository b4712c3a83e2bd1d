"""What declares an incident without a person at a screen:

- The MQTT trigger: a panic button publishes `{"building", "reason", "cameras"?, "drill"?}` on
  `[incidents.mqtt] declare_topic`; the broker has authenticated it with the incidents' own
  credentials, and the declaration's actor is `mqtt:<username>` (audited like any other).
  Malformed or refused messages are counted per kind (the first of each logged) and never stop
  the connection.
- The door rule: when `[incidents.door_rule] enabled`, a stored door event at a door of a building
  that core.incidents.door_rule_reason says declares, declares (or joins) for the door's building
  as `door_rule`. The door-event path only offers the event to a bounded queue (never waits); a
  task of its own declares."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable

from vigil.core.errors import VigilError
from vigil.core.incident_messages import MalformedError, parse_declare_message
from vigil.core.incidents import DeclaredVia, door_rule_reason
from vigil.doors.service import StoredDoorEvent
from vigil.services import incidents as incident_service
from vigil.services.caller import worker_caller
from vigil.services.env import ServiceEnv

log = logging.getLogger(__name__)

DOOR_RULE_QUEUE = 100


class Counted:
    """Failures counted per kind; the first of each kind is logged."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.counts: collections.Counter[str] = collections.Counter()

    def count(self, kind: str, message: str) -> None:
        if not self.counts[kind]:
            log.warning("%s (%s): %s; further ones of this kind are only counted", self.what, kind, message)
        self.counts[kind] += 1


class MqttTrigger:
    """The receiver of IncidentMqtt: one declaration per well-formed message."""

    def __init__(self, env: ServiceEnv, username: str | None, clock: Callable[[], int] = time.time_ns) -> None:
        self.env = env
        self.actor = f"mqtt:{username or 'anonymous'}"
        self.clock = clock
        self.failures = Counted("incidents mqtt: a declaration message was not taken")
        self.declared = 0

    async def __call__(self, topic: str, payload: bytes) -> None:
        try:
            message = parse_declare_message(payload)
        except MalformedError as error:
            self.failures.count(error.kind, f"on {topic}: {error}")
            return
        try:
            result = await incident_service.declare(
                self.env, worker_caller(self.clock(), self.actor), building=message.building,
                cameras=list(message.cameras), reason=message.reason, drill=message.drill, via=DeclaredVia.MQTT)
        except VigilError as error:  # unknown building or camera, a full or busy index: counted, not fatal
            self.failures.count(f"refused:{type(error).__name__}", f"on {topic}: {error}")
            return
        self.declared += 1
        log.warning("incident %d %s by %s (mqtt): %s", result.incident.id, "joined" if result.joined else "declared",
                    self.actor, message.reason)


class DoorRuleTrigger:
    """Offered every stored door event at a mapped door; declares for those the rule names."""

    def __init__(self, env: ServiceEnv, clock: Callable[[], int] = time.time_ns, size: int = DOOR_RULE_QUEUE) -> None:
        self.env = env
        self.clock = clock
        self.queue: asyncio.Queue[StoredDoorEvent] = asyncio.Queue(size)
        self.dropped = 0
        self.failures = Counted("door rule: an incident was not declared")
        self.declared = 0

    def offer(self, event: StoredDoorEvent) -> None:
        """From the door-event path: never waits (a full queue drops the newest and counts it)."""
        if not self.env.config.incidents.door_rule.enabled:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("door rule: the queue is full; door event %d was not considered", event.id)

    def reason(self, event: StoredDoorEvent) -> str | None:
        rule = self.env.config.incidents.door_rule
        if not rule.enabled:
            return None
        return door_rule_reason(event.kind, event.flagging, rule.min_severity, rule.kinds, event.door_name)

    async def run(self) -> None:
        while True:
            event = await self.queue.get()
            reason = self.reason(event)
            if reason is None:
                continue
            try:
                result = await incident_service.declare(
                    self.env, worker_caller(self.clock(), "door_rule"), building=event.building, cameras=[],
                    reason=reason, drill=False, via=DeclaredVia.DOOR_RULE)
            except VigilError as error:
                self.failures.count(type(error).__name__, f"door event {event.id}: {error}")
                continue
            self.declared += 1
            log.warning("incident %d %s by the door rule (door event %d): %s", result.incident.id,
                        "joined" if result.joined else "declared", event.id, reason)
