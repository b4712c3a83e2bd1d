"""The MQTT adapter: door events in (QoS 1, persistent session) and alerts out, one asyncio task.

In: the broker keeps a persistent session for the stable `client_id` (clean_session = false), so
QoS 1 messages published while vigil is away are delivered when it reconnects: at-least-once, and
the sink de-duplicates on (source, event_id). Malformed messages are counted per kind and the first
of each kind is logged; they never stop the adapter.

Out: `<prefix>/status` "online" (retained) with the last will "offline" (retained); every flagged
door event on `<prefix>/flagged` (QoS 1) and every adapter's health on `<prefix>/health/<source>`
(retained), from the AlertFeed. Alerts that arrive while the broker is unreachable wait in a
bounded queue (the oldest are dropped first) and go out after the reconnect.

A lost broker is an outage: `sink.source_down` then, after the reconnect, `sink.source_up`;
reconnects follow core.backoff. The password is never logged."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Callable

import aiomqtt

from vigil.config import MqttConfig
from vigil.core.backoff import BackoffPolicy
from vigil.core.door_events import OccurredOutOfWindowError
from vigil.core.errors import DiskFullError
from vigil.core.mqtt_messages import STATUS_OFFLINE, STATUS_ONLINE, MalformedError, Topics, encode, parse_message
from vigil.doors.sink import Alert, AlertFeed, AlertKind, DoorEventSink

log = logging.getLogger(__name__)

BACKOFF = BackoffPolicy(first_delay_s=0.5, max_delay_s=30.0)
ALERT_QUEUE = 1000


class MqttAdapter:
    def __init__(self, config: MqttConfig, sink: DoorEventSink, feed: AlertFeed | None = None, *,
                 clock: Callable[[], int] = time.time_ns, jitter: Callable[[], float] = random.random,
                 backoff: BackoffPolicy = BACKOFF) -> None:
        self.config = config
        self.sink = sink
        self.feed = feed
        self.clock = clock
        self.jitter = jitter
        self.backoff = backoff
        self.topics = Topics(config.out_prefix)
        self.malformed: collections.Counter[str] = collections.Counter()
        self.submitted = 0
        self.connected = asyncio.Event()
        self.alerts_dropped = 0
        self._alerts: collections.deque[Alert] = collections.deque(maxlen=ALERT_QUEUE)
        self._alert_ready = asyncio.Event()
        self._down_reason: str | None = None

    @property
    def source(self) -> str:
        return self.config.source

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            if self.feed is not None:
                tg.create_task(self._collect_alerts(self.feed))
            tg.create_task(self._connect_loop())

    async def _collect_alerts(self, feed: AlertFeed) -> None:
        async for alert in feed.subscribe():
            if len(self._alerts) == self._alerts.maxlen:
                self.alerts_dropped += 1
            self._alerts.append(alert)
            self._alert_ready.set()

    def _client(self) -> aiomqtt.Client:
        c = self.config
        tls = None
        if c.tls:
            tls = ssl.create_default_context(cafile=None if c.ca_file is None else str(c.ca_file))
        client = aiomqtt.Client(
            c.host, c.port, identifier=c.client_id, clean_session=False, username=c.username, password=c.password,
            keepalive=c.keepalive_s, tls_context=tls, timeout=10.0,
            will=aiomqtt.Will(self.topics.status, STATUS_OFFLINE, qos=1, retain=True))
        # Acknowledge a message only once the sink has stored it: by default paho sends PUBACK when
        # the message is queued in memory, and a crash before the store would lose it. aiomqtt
        # does not expose paho's manual acknowledgement, so it is set on its paho client.
        client._client.manual_ack_set(True)
        return client

    async def _connect_loop(self) -> None:
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                async with self._client() as client:
                    await self._session(client)
            except (aiomqtt.MqttError, DiskFullError) as error:  # a full index: unacknowledged, redelivered later
                self.connected.clear()
                reason = f"broker {self.config.host}:{self.config.port}: {error}"
                if self._down_reason is None:
                    log.warning("mqtt: %s; reconnecting with backoff", reason)
                self._down_reason = reason
                await self.sink.source_down(self.source, reason[:200], self.clock())
            attempt = self.backoff.next_attempt(attempt, time.monotonic() - started)
            await asyncio.sleep(self.backoff.delay_s(max(attempt - 1, 0), self.jitter()))

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.publish(self.topics.status, STATUS_ONLINE, qos=1, retain=True)
        await client.subscribe(self.config.topic, qos=1)
        log.info("mqtt: connected to %s:%d as %s, subscribed to %s", self.config.host, self.config.port,
                 self.config.client_id, self.config.topic)
        self._down_reason = None
        await self.sink.source_up(self.source, self.clock())
        self.connected.set()
        tasks = {asyncio.create_task(self._receive_all(client)), asyncio.create_task(self._publish_alerts(client))}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # vigil stops: say so now (the will covers a crash)
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await asyncio.wait_for(client.publish(self.topics.status, STATUS_OFFLINE, qos=1, retain=True), 2.0)
            raise
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
        for task in done:
            task.result()  # a lost broker raises MqttError here

    async def _receive_all(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            if message.topic.matches(self.config.topic):  # not an older subscription of this session
                await self._receive(str(message.topic), message.payload)
            # stored, or malformed/not ours (counted; redelivering it would not help): acknowledge
            client._client.ack(message.mid, message.qos)

    async def _receive(self, topic: str, payload: object) -> None:
        if self.topics.is_ours(topic):
            return
        data = bytes(payload) if isinstance(payload, bytes | bytearray) else str(payload).encode()
        try:
            event = parse_message(data, self.source)
        except MalformedError as error:
            self._count(error.kind, topic, str(error))
            return
        try:
            result = await self.sink.submit(event, self.clock())
        except OccurredOutOfWindowError as error:  # dropped: a redelivery would be refused again
            self._count("out_of_window", topic, str(error))
            return
        self.submitted += 1
        log.debug("mqtt: door event %s -> %d%s", event.redacted(), result.id,
                  " (duplicate)" if result.duplicate else "")

    def _count(self, kind: str, topic: str, message: str) -> None:
        if not self.malformed[kind]:
            what = "door event dated outside the accepted window" if kind == "out_of_window" else "malformed door event"
            log.warning("mqtt: %s on %s (%s): %s; further ones of this kind are only counted",
                        what, topic, kind, message)
        self.malformed[kind] += 1

    async def _publish_alerts(self, client: aiomqtt.Client) -> None:
        while True:
            await self._alert_ready.wait()
            while self._alerts:
                alert = self._alerts[0]
                if alert.kind is AlertKind.ALERTS_LOST:
                    log.warning("mqtt: %s alerts were lost before they could be published", alert.body.get("lost"))
                elif alert.kind is AlertKind.DOOR_EVENT_FLAGGED:
                    await client.publish(self.topics.flagged, encode(alert.body), qos=1)
                else:
                    source = str(alert.body.get("source") or "unknown")
                    await client.publish(self.topics.health(source), encode(alert.body), qos=1, retain=True)
                self._alerts.popleft()  # only once the broker took it
            self._alert_ready.clear()
