"""The district publisher (issue 17, design/district.md): the daemon's part that tells the district
what happens here, as core.district SiteMessages on `district/<kind>` of the appliance's own
mosquitto ([district] broker_host/broker_port, QoS 1), which the bridge (`vigil district enroll`)
forwards to the hub. It is on while the appliance is enrolled (hub.json, looked at every few
seconds) and `[district] publish` is true; else it publishes nothing and queues nothing.

What: inventory (retained) at start, on enrolment and after every applied reload; health
(retained) every `health_interval_s`; a camera going down or coming back (the status the API
shows, looked at every second); flagged door events at a door (the alert feed); incidents
declared, joined, ended (ServiceEnv.incident_listeners); storage problems and their end.

Queue (core.district_publish.PublishQueue): at most MAX_EVENTS = 1000 event messages; when full
the OLDEST is dropped and counted (`GET /api/district` shows `dropped`; the hub sees the gap in
`seq`); only the latest health and inventory wait. Offering never blocks and never raises, so a
broker that is down or slow never stalls recording, the door path or incidents; the door alerts
come through the alert feed's own bounded subscription, the incident changes through a bounded
queue of INCIDENT_CHANGES (dropped and counted when full)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import shutil
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import aiomqtt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from vigil import __version__
from vigil.config import Config
from vigil.core.backoff import BackoffPolicy
from vigil.core.district import RETAINED, SiteMessage, SiteTopic, local_topic, message_bytes
from vigil.core.district_publish import (
    CameraLine,
    PublishQueue,
    camera_data,
    camera_news,
    door_event_data,
    health_data,
    incident_data,
    inventory_data,
    storage_data,
)
from vigil.core.errors import VigilError
from vigil.core.hotplug import StorageState
from vigil.core.storage_report import BudgetProblem
from vigil.district.state import Enrolment, load_enrolment
from vigil.doors.alerts import AlertHub
from vigil.doors.sink import AlertKind
from vigil.services.caller import worker_caller
from vigil.services.district import PublisherState
from vigil.services.env import IncidentChange, ServiceEnv
from vigil.services.plans import list_plans
from vigil.store.incidents import Incidents

log = logging.getLogger(__name__)

TICK_S = 1.0  # cameras and storage are looked at this often
ENROLMENT_CHECK_S = 3.0  # hub.json is looked at this often
PUBLISH_TIMEOUT_S = 10.0  # for the broker's PUBACK; then the connection is dropped and made again
INCIDENT_CHANGES = 100
BACKOFF = BackoffPolicy(first_delay_s=0.5, max_delay_s=15.0)
CLIENT_ID = "vigil-district"
RESTART_S = 5.0  # a failed task of the publisher starts again after this



def https_sha256(config: Config) -> str | None:
    """The SHA-256 (hex) of the certificate this appliance's HTTPS presents (the configured one, or
    the self-signed one the daemon makes under storage/tls), None before it exists or without TLS."""
    if not config.http.tls:
        return None
    path = config.http.cert_file or config.storage.path / "tls" / "cert.pem"
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None
    return cert.fingerprint(hashes.SHA256()).hex()

class CameraStatuses(Protocol):
    """What the API shows of a camera (api.context.CameraStatusSource; vigil.pipelines)."""

    def camera_status(self, camera_id: str) -> Any: ...


class DistrictPublisher:
    def __init__(self, env: ServiceEnv, cameras: CameraStatuses, alerts: AlertHub,
                 budget_problem: Callable[[], BudgetProblem | None],
                 storage_state: Callable[[], StorageState] = lambda: StorageState.OK,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.env = env
        self.cameras = cameras
        self.alerts = alerts
        self.budget_problem = budget_problem
        self.storage_state = storage_state
        self.clock_ns = clock_ns
        self.boot = str(uuid.uuid4())
        self.started_ns = clock_ns()
        self.queue = PublishQueue()
        self.enrolment: Enrolment | None = None
        self.connected = False
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._reported: dict[str, str] = {}
        self._storage: tuple[str | None, str | None] = (None, None)
        self._inventory_due = True
        self._https_told = False  # the last inventory carried the HTTPS certificate's fingerprint
        self._incidents: asyncio.Queue[tuple[IncidentChange, int]] = asyncio.Queue(INCIDENT_CHANGES)
        self._lost_changes = 0

    # --- what others call (the event loop's thread) -------------------------------------------

    @property
    def active(self) -> bool:
        return self.enrolment is not None and self.env.config.district.publish

    def state(self) -> PublisherState:
        return PublisherState(self.connected, len(self.queue), self.queue.dropped + self._lost_changes,
                              self.last_error)

    def offer(self, kind: SiteTopic, data: dict[str, Any], at_ns: int | None = None) -> None:
        if not self.active:
            return
        self.queue.offer(kind, self.clock_ns() if at_ns is None else at_ns, data)
        self._wake.set()

    def incident_changed(self, change: IncidentChange) -> None:
        """ServiceEnv.incident_listeners: after the change committed."""
        if not self.active:
            return
        try:
            self._incidents.put_nowait((change, self.clock_ns()))
        except asyncio.QueueFull:
            self._lost_changes += 1

    def config_applied(self, _: Config) -> None:
        """LiveConfig.on_applied: cameras, buildings or doors may have changed."""
        self._inventory_due = True

    # --- the tasks --------------------------------------------------------------------------------

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            for name, body in (("watch", self._watch), ("door events", self._door_events),
                               ("incidents", self._incident_changes), ("send", self._send)):
                tasks.create_task(self._guarded(name, body))

    async def _guarded(self, name: str, body: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """The district is never a reason to stop recording: a task that fails is logged and started
        again (a cancellation, the daemon stopping, passes through)."""
        while True:
            try:
                await body()
                return
            except Exception as error:  # logged with its traceback, then started again
                log.exception("district publisher: %s failed; starting it again in %g s", name, RESTART_S)
                self.last_error = f"{name}: {error!r}"
            await asyncio.sleep(RESTART_S)

    async def _watch(self) -> None:
        next_enrolment = next_health = 0.0
        while True:
            now = time.monotonic()
            if now >= next_enrolment:
                next_enrolment = now + ENROLMENT_CHECK_S
                await self._check_enrolment()
            if self.active:
                lines = self._camera_lines()
                self._reported, news = camera_news(self._reported, lines)
                for line in news:
                    self.offer(SiteTopic.CAMERA, camera_data(line))
                self._check_storage()
                if self._inventory_due:
                    self._inventory_due = False  # (a reload meanwhile asks again)
                    try:
                        inventory = await self._inventory()
                        self.offer(SiteTopic.INVENTORY, inventory)
                        self._https_told = inventory["https_sha256"] is not None
                    except VigilError as error:  # a busy index: the next look tries again
                        self._inventory_due = True
                        self.last_error = f"inventory: {error}"
                if now >= next_health:
                    next_health = now + self.env.config.district.health_interval_s
                    # the first start makes the HTTPS certificate while this part starts: tell its
                    # fingerprint (which the hub pins) once it is there
                    self._inventory_due = self._inventory_due or (
                        self.env.config.http.tls and not self._https_told)
                    self.offer(SiteTopic.HEALTH, await self._health(lines))
            await asyncio.sleep(TICK_S)

    async def _check_enrolment(self) -> None:
        try:
            found = await asyncio.to_thread(load_enrolment, self.env.config.storage.path)
        except VigilError as error:
            found, self.last_error = None, str(error)
        was = self.enrolment
        if was is not None and found is not None and was.info == found.info:
            found = was  # unchanged: the sender keeps its connection (it compares the enrolment by identity)
        self.enrolment = found
        if (was is None) != (found is None) or (was and found and was.info != found.info):
            self.queue.clear()
            self._reported = {}
            self._inventory_due = True
            self._wake.set()  # the sender reconnects (or stops)
            if found is not None:
                log.info("district: publishing for site %s of hub %s", found.info.site_id, found.info.hub_name)

    def _camera_lines(self) -> list[CameraLine]:
        out = []
        for camera in self.env.config.cameras:
            if not camera.enabled:
                continue
            status = self.cameras.camera_status(camera.id)
            out.append(CameraLine(camera.id, camera.building, str(status.state), status.reason))
        return out

    def _check_storage(self) -> None:
        state = self.storage_state()
        problem: tuple[str | None, str | None] = (None, None)
        if state is not StorageState.OK:
            problem = (f"disk_{state.value}", f"the recording disk is {state.value}")
        else:
            budget = self.budget_problem()
            if budget is not None:
                problem = (budget.key, budget.message)
        if problem != self._storage:
            self._storage = problem
            self.offer(SiteTopic.STORAGE, storage_data(*problem))

    async def _health(self, lines: list[CameraLine]) -> dict[str, Any]:
        try:
            free: int | None = (await asyncio.to_thread(shutil.disk_usage,
                                                        self.env.config.storage.recordings_path)).free
        except OSError:
            free = None
        uptime_s = (self.clock_ns() - self.started_ns) / 1e9
        return health_data(__version__, lines, free, self._storage[0], uptime_s)

    async def _inventory(self) -> dict[str, Any]:
        config = self.env.config
        plans = await list_plans(self.env, worker_caller(self.clock_ns(), "district"))
        return inventory_data(config.district.public_url or config.http.public_url,
                              ((b.id, b.name) for b in config.buildings),
                              ((c.id, c.name, c.building) for c in config.cameras),
                              ((d.id, d.name, d.building) for d in config.doors),
                              ((p.building_id, p.id) for p in plans),
                              await asyncio.to_thread(https_sha256, config))

    async def _door_events(self) -> None:
        subscription = self.alerts.subscribe()
        try:
            async for alert in subscription:
                if alert.kind is not AlertKind.DOOR_EVENT_FLAGGED:
                    continue
                data = door_event_data(alert.body)
                at_ns = alert.body.get("occurred_wall_ns")
                if data is not None:
                    self.offer(SiteTopic.DOOR_EVENT, data, at_ns if isinstance(at_ns, int) else None)
        finally:
            subscription.close()

    async def _incident_changes(self) -> None:
        while True:
            change, at_ns = await self._incidents.get()
            incident_id = change.incident_id
            try:
                row = await self.env.run(functools.partial(Incidents(self.env.index).get, incident_id))
            except VigilError as error:
                log.warning("district: incident %d not published: %s", change.incident_id, error)
                continue
            self.offer(SiteTopic.INCIDENT, incident_data(row.id, row.building_id, change.what, row.reason, row.drill),
                       at_ns)

    async def _send(self) -> None:
        attempt = 0
        while True:
            enrolled = self.enrolment
            if not self.active or enrolled is None:
                self.connected = False
                await self._wait_wake(ENROLMENT_CHECK_S)
                continue
            started = time.monotonic()
            district = self.env.config.district
            try:
                async with aiomqtt.Client(district.broker_host, district.broker_port, identifier=CLIENT_ID,
                                          keepalive=30, timeout=PUBLISH_TIMEOUT_S) as client:
                    self.connected, self.last_error = True, None
                    log.info("district: connected to the local broker %s:%d", district.broker_host,
                             district.broker_port)
                    await self._publish_while(client, enrolled)
                    continue  # the enrolment changed: connect again for it (or stop)
            except (aiomqtt.MqttError, TimeoutError) as error:
                reason = f"broker {district.broker_host}:{district.broker_port}: {error or 'no acknowledgement'}"
                if reason != self.last_error:
                    log.warning("district: %s; reconnecting with backoff", reason)
                self.last_error = reason
            finally:
                self.connected = False
            attempt = BACKOFF.next_attempt(attempt, time.monotonic() - started)
            await asyncio.sleep(BACKOFF.delay_s(max(attempt - 1, 0), random.random()))

    async def _publish_while(self, client: aiomqtt.Client, enrolled: Enrolment) -> None:
        """Send what is queued, oldest first, each acknowledged before the next; return when the
        enrolment changed."""
        site = enrolled.info.site_id
        while self.enrolment is enrolled and self.active:
            item = self.queue.peek()
            if item is None:
                await self._wait_wake(TICK_S)
                continue
            message = SiteMessage(item.kind, site, self.boot, item.seq, item.at_ns, item.data)
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await client.publish(local_topic(item.kind), message_bytes(message), qos=1,
                                     retain=item.kind in RETAINED)
            self.queue.done(item)

    async def _wait_wake(self, timeout_s: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._wake.wait()
