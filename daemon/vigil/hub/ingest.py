"""What the hub hears: the district broker's `vigil/<site>/<kind>` topics, one MQTT client, one task.

The hub is a client of its own broker (TLS with the district CA and the hub's client certificate,
CN = `hub`, whom the ACL lets read `vigil/#`), client id `vigil-hub-<hub_id>`, clean_session false
and QoS 1: the broker keeps the hub's session, so what sites publish while the hub restarts is
delivered when it is back. A message is acknowledged only once it is stored (paho's manual
acknowledgement, as doors/mqtt/adapter.py), so a crash between the two redelivers it; the store
keeps one copy per (site, boot, seq). Messages that have already arrived are taken together
(at most BATCH) and stored in one transaction, in order.

Per message: the topic names the site and kind (core.district.parse_hub_topic). A site that is not
enrolled, or was removed, is dropped and counted (logged once per site). The bridge's "1"/"0"
updates the site's reachability; health and inventory (retained) update the site's row; the other
kinds are parsed (core.district.parse_message), stored with their headline, and each of
`env.message_listeners` is told the Event JSON. A malformed message is logged (the reason, never
the payload) and dropped: it never stops the loop. A lost broker is retried with core.backoff."""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import ssl
import time
from collections.abc import Callable
from typing import Any

import aiomqtt

from vigil.core.backoff import BackoffPolicy
from vigil.core.district import HUB_PREFIX, SiteMessage, SiteTopic, parse_hub_topic, parse_message
from vigil.core.errors import BadRequestError, VigilError
from vigil.core.hub_events import STORED_KINDS, event_json
from vigil.hub.env import HubEnv
from vigil.store import hub_messages

log = logging.getLogger(__name__)

BACKOFF = BackoffPolicy(first_delay_s=0.5, max_delay_s=15.0)
SUBSCRIPTION = HUB_PREFIX + "+/+"
KEEPALIVE_S = 30
BATCH = 200  # messages already received are stored in one transaction, at most this many


def _payload(payload: object) -> bytes:
    return bytes(payload) if isinstance(payload, bytes | bytearray) else str(payload).encode()


def client_id(hub_id: str) -> str:
    return f"vigil-hub-{hub_id}"


class Ingest:
    def __init__(self, env: HubEnv, *, jitter: Callable[[], float] = random.random,
                 backoff: BackoffPolicy = BACKOFF) -> None:
        self.env = env
        self.jitter = jitter
        self.backoff = backoff
        self.connected = asyncio.Event()
        self.stored = 0
        self.duplicates = 0
        self.dropped: collections.Counter[str] = collections.Counter()  # per site not enrolled
        self.malformed: collections.Counter[str] = collections.Counter()  # per site
        self.last_error: str | None = None

    def _client(self) -> aiomqtt.Client:
        c, keys = self.env.config, self.env.keys
        tls = ssl.create_default_context(cafile=str(keys.ca_cert))
        tls.load_cert_chain(str(keys.client_cert), str(keys.client_key))
        client = aiomqtt.Client(c.broker_client_host, c.broker_client_port, identifier=client_id(c.hub_id),
                                clean_session=False, keepalive=KEEPALIVE_S, tls_context=tls, timeout=10.0,
                                max_queued_incoming_messages=10_000)
        client._client.manual_ack_set(True)
        return client

    async def run(self) -> None:
        attempt = 0
        c = self.env.config
        while True:
            started = time.monotonic()
            try:
                async with self._client() as client:
                    await self._session(client)
            except (aiomqtt.MqttError, VigilError) as error:
                # VigilError: the database is full or busy; the batch was not acknowledged, so the
                # broker delivers it again after the reconnect (the session is persistent)
                reason = f"district broker {c.broker_client_host}:{c.broker_client_port}: {error}"
                if self.last_error != reason:
                    log.warning("hub ingest: %s; reconnecting with backoff", reason)
                self.last_error = reason
            finally:
                self.connected.clear()
            attempt = self.backoff.next_attempt(attempt, time.monotonic() - started)
            await asyncio.sleep(self.backoff.delay_s(max(attempt - 1, 0), self.jitter()))

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.subscribe(SUBSCRIPTION, qos=1)
        log.info("hub ingest: connected to the district broker as %s, subscribed to %s",
                 client_id(self.env.config.hub_id), SUBSCRIPTION)
        self.last_error = None
        self.connected.set()
        messages = client.messages
        while True:  # ends with MqttError when the broker goes
            batch = [await anext(messages)]
            while len(messages) and len(batch) < BATCH:  # what already waits: one transaction
                batch.append(await anext(messages))
            await self.handle_batch([(str(m.topic), _payload(m.payload)) for m in batch])
            for message in batch:  # stored, or dropped for good (redelivering would not help)
                client._client.ack(message.mid, message.qos)

    async def handle(self, topic: str, payload: bytes) -> None:
        await self.handle_batch([(topic, payload)])

    async def handle_batch(self, items: list[tuple[str, bytes]]) -> None:
        """Messages from the broker, in order; raises nothing but a lost database (then they are
        redelivered, being unacknowledged)."""
        run: list[SiteMessage] = []
        for topic, payload in items:
            parsed = parse_hub_topic(topic)
            if parsed is None:
                self._malformed("?", f"not a district topic: {topic[:120]!r}")
                continue
            site, kind = parsed
            if kind in STORED_KINDS:
                try:
                    run.append(parse_message(site, kind, payload))
                except BadRequestError as error:
                    self._malformed(site, f"{kind.value}: {error}")
                continue
            await self._store(run)
            run = []
            await self._update_site(site, kind, payload)
        await self._store(run)

    async def _update_site(self, site: str, kind: SiteTopic, payload: bytes) -> None:
        """The bridge's "1"/"0", or the retained health or inventory: the site's row."""
        now_ns = self.env.clock_ns()
        db = self.env.db
        if kind is SiteTopic.BRIDGE:
            text = payload.strip()
            if text not in (b"0", b"1"):
                self._malformed(site, "bridge notification is neither 0 nor 1")
                return
            if not await self.env.run(lambda: hub_messages.set_bridge(db, site, text == b"1", now_ns)):
                self._drop(site)
            return
        try:
            data = parse_message(site, kind, payload).data
        except BadRequestError as error:
            self._malformed(site, f"{kind.value}: {error}")
            return
        if not await self.env.run(lambda: hub_messages.set_retained(db, site, kind, data, now_ns)):
            self._drop(site)

    async def _store(self, run: list[SiteMessage]) -> None:
        if not run:
            return
        now_ns = self.env.clock_ns()
        db = self.env.db
        results = await self.env.run(lambda: hub_messages.store_messages(db, run, now_ns))
        for message, result in zip(run, results, strict=True):
            if not result.enrolled:
                self._drop(message.site)
            elif result.event is None:
                self.duplicates += 1
            else:
                self.stored += 1
                self._tell(event_json(result.event))

    def _tell(self, event: dict[str, Any]) -> None:
        for listener in list(self.env.message_listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must not stop the district's events
                log.exception("hub ingest: a message listener failed")

    def _drop(self, site: str) -> None:
        if not self.dropped[site]:
            log.warning("hub ingest: messages from %r, which is not an enrolled site, are dropped"
                        " (further ones are only counted)", site)
        self.dropped[site] += 1

    def _malformed(self, site: str, reason: str) -> None:
        if not self.malformed[site]:
            log.warning("hub ingest: malformed message from %r dropped: %s (further ones are only counted)",
                        site, reason)
        self.malformed[site] += 1


async def run_ingest(env: HubEnv) -> None:
    """The hub's ingest until cancelled (hub/app.py's TaskGroup starts it)."""
    await Ingest(env).run()
