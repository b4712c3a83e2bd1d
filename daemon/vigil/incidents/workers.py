"""The incidents' part of the daemon (app.py): the delivery worker, the MQTT connection (deliveries
out, a panic button's declarations in) and the door rule, wired to the services' incident
listeners and the door-event service; detached again at the stop."""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from vigil.doors.service import DoorEventService
from vigil.incidents.delivery import DeliveryWorker
from vigil.incidents.mqtt import IncidentMqtt
from vigil.incidents.triggers import DoorRuleTrigger, MqttTrigger
from vigil.services.env import ServiceEnv


@dataclass
class IncidentWorkers:
    env: ServiceEnv
    doors: DoorEventService | None
    delivery: DeliveryWorker
    door_rule: DoorRuleTrigger
    mqtt: IncidentMqtt | None
    mqtt_trigger: MqttTrigger | None

    def tasks(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        out: list[tuple[str, Coroutine[Any, Any, None]]] = [("incident-delivery", self.delivery.run()),
                                                             ("incident-door-rule", self.door_rule.run())]
        if self.mqtt is not None:
            out.append(("incident-mqtt", self.mqtt.run()))
        return out

    def detach(self) -> None:
        if self.delivery.on_change in self.env.incident_listeners:
            self.env.incident_listeners.remove(self.delivery.on_change)
        if self.doors is not None and self.door_rule.offer in self.doors.stored_listeners:
            self.doors.stored_listeners.remove(self.door_rule.offer)


def incident_workers(env: ServiceEnv, doors: DoorEventService | None) -> IncidentWorkers:
    """Built from the configuration at start (a reload changes the recipients' settings, which each
    attempt reads anew, but not the MQTT connection)."""
    settings = env.config.incidents.mqtt
    mqtt = trigger = None
    if settings is not None and (settings.declare_topic is not None or settings.publish_topic is not None):
        trigger = MqttTrigger(env, settings.username) if settings.declare_topic is not None else None
        mqtt = IncidentMqtt(settings, trigger)
    delivery = DeliveryWorker(env, mqtt)
    door_rule = DoorRuleTrigger(env)
    env.incident_listeners.append(delivery.on_change)
    if doors is not None:
        doors.stored_listeners.append(door_rule.offer)
    return IncidentWorkers(env, doors, delivery, door_rule, mqtt, trigger)
