"""The configured door-event adapters (MQTT, OnGuard pollers) as coroutines for the daemon's
TaskGroup; each hands events to the sink and reports its own outages through it."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from vigil.config import DoorAdaptersConfig
from vigil.doors.mqtt.adapter import MqttAdapter
from vigil.doors.onguard.poller import OnGuardPoller
from vigil.doors.sink import AlertFeed, DoorEventSink


def adapter_tasks(config: DoorAdaptersConfig, sink: DoorEventSink, feed: AlertFeed
                  ) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """(task name, coroutine) for each configured adapter."""
    tasks: list[tuple[str, Coroutine[Any, Any, None]]] = []
    if config.mqtt is not None:
        tasks.append((f"door-mqtt-{config.mqtt.source}", MqttAdapter(config.mqtt, sink, feed).run()))
    for poller in config.onguard:
        tasks.append((f"door-onguard-{poller.source}", OnGuardPoller(poller, sink).run()))
    return tasks
