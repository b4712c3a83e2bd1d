"""The incidents' MQTT connection, with credentials of their own (not the door adapter's): it
publishes deliveries on `<publish_topic>/<building>` (QoS 1) and receives a panic button's
declarations on `declare_topic` (QoS 1, persistent session for the stable client id, so a message
published while vigil restarts is still delivered). One connection serves both.

A lost or refused connection is retried with backoff (core.backoff, as doors/mqtt/adapter.py);
a delivery attempted meanwhile waits a short time for the connection, then fails and is retried
by the delivery worker. The password is never logged."""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable

import aiomqtt

from vigil.config.model import IncidentMqttConfig
from vigil.core.backoff import BackoffPolicy
from vigil.incidents.transport import DeliveryError

log = logging.getLogger(__name__)

BACKOFF = BackoffPolicy(first_delay_s=0.5, max_delay_s=30.0)
PUBLISH_WAIT_S = 5.0  # for the connection, then for the broker's PUBACK

Receiver = Callable[[str, bytes], Awaitable[None]]


class IncidentMqtt:
    def __init__(self, config: IncidentMqttConfig, receiver: Receiver | None = None, *,
                 jitter: Callable[[], float] = random.random, backoff: BackoffPolicy = BACKOFF) -> None:
        self.config = config
        self.receiver = receiver
        self.jitter = jitter
        self.backoff = backoff
        self.connected = asyncio.Event()
        self.last_error: str | None = None
        self._client: aiomqtt.Client | None = None

    def _new_client(self) -> aiomqtt.Client:
        c = self.config
        tls = None
        if c.tls:
            tls = ssl.create_default_context(cafile=None if c.ca_file is None else str(c.ca_file))
        client = aiomqtt.Client(c.host, c.port, identifier=c.client_id, clean_session=False, username=c.username,
                                password=c.password, keepalive=c.keepalive_s, tls_context=tls, timeout=10.0)
        # Acknowledge a declaration only once it is handled (as doors/mqtt/adapter.py): a crash
        # before the commit leaves it with the broker, which delivers it again.
        client._client.manual_ack_set(True)
        return client

    async def run(self) -> None:
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                async with self._new_client() as client:
                    await self._session(client)
            except aiomqtt.MqttError as error:
                reason = f"broker {self.config.host}:{self.config.port}: {error}"
                if self.last_error != reason:
                    log.warning("incidents mqtt: %s; reconnecting with backoff", reason)
                self.last_error = reason
            finally:
                self._client = None
                self.connected.clear()
            attempt = self.backoff.next_attempt(attempt, time.monotonic() - started)
            await asyncio.sleep(self.backoff.delay_s(max(attempt - 1, 0), self.jitter()))

    async def _session(self, client: aiomqtt.Client) -> None:
        topic = self.config.declare_topic
        if topic is not None and self.receiver is not None:
            await client.subscribe(topic, qos=1)
        log.info("incidents mqtt: connected to %s:%d as %s%s", self.config.host, self.config.port,
                 self.config.client_id, f", declarations on {topic}" if topic else "")
        self.last_error = None
        self._client = client
        self.connected.set()
        async for message in client.messages:
            if topic is not None and self.receiver is not None and message.topic.matches(topic):
                payload = message.payload
                data = bytes(payload) if isinstance(payload, bytes | bytearray) else str(payload).encode()
                await self.receiver(str(message.topic), data)
            # handled, or refused (counted; a redelivery would be refused again), or not ours: acknowledged
            client._client.ack(message.mid, message.qos)

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait for the broker's acknowledgement, or DeliveryError."""
        try:  # asyncio.timeout: 3.11's wait_for can swallow a cancellation
            async with asyncio.timeout(PUBLISH_WAIT_S):
                await self.connected.wait()
        except TimeoutError:
            raise DeliveryError(f"mqtt: not connected ({self.last_error or 'connecting'})") from None
        client = self._client
        if client is None:
            raise DeliveryError("mqtt: the connection was lost")
        try:
            async with asyncio.timeout(PUBLISH_WAIT_S):
                await client.publish(topic, payload, qos=1)
        except TimeoutError:
            raise DeliveryError(f"mqtt: the broker did not acknowledge within {PUBLISH_WAIT_S:g} s") from None
        except aiomqtt.MqttError as error:
            raise DeliveryError(f"mqtt: {error}") from None
