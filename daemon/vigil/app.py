"""The daemon: its parts, started in order and stopped in the reverse order (system/parts.py,
design/appliance.md "Start and stop"). SIGTERM/SIGINT stop it cleanly (open segments are
finished) and `run` returns; a part failing, at start or later, stops the started ones and `run`
raises its error.

Each part below is an async context manager: what it starts before `yield`, what stops it after."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from vigil.api.context import Services
from vigil.api.listener import ApiListener, handler_args
from vigil.api.routes import build_app
from vigil.api.tls import ensure_self_signed, server_context
from vigil.config import Config
from vigil.config.live import LiveConfig
from vigil.core.conn_limits import MIN_CONNECTIONS, effective_max_connections, fd_reserve
from vigil.core.errors import DiskFullError, IndexBusyError, VigilError
from vigil.core.hotplug import StorageState
from vigil.core.live_grants import ViewerLimits
from vigil.core.ratelimit import LoginThrottle
from vigil.credential_watch import CredentialWatch
from vigil.district.publisher import DistrictPublisher
from vigil.doors.adapters import adapter_tasks
from vigil.doors.alerts import AlertHub
from vigil.doors.keys import ensure_door_key
from vigil.doors.patient_sink import PatientSink
from vigil.doors.service import DoorEventService
from vigil.exports.incident_report import IncidentDocuments
from vigil.exports.jobs import ExportJobs
from vigil.exports.package import clip_from_recordings
from vigil.exports.report_part import IncidentReports
from vigil.exports.signing import signing_key_path
from vigil.incidents.alerts import IncidentAlerts
from vigil.incidents.workers import IncidentWorkers, incident_workers
from vigil.logs import add_secrets
from vigil.pipelines import CameraPipelines
from vigil.record.recorder import Recorder
from vigil.record.recovery import recover
from vigil.record.reserve import SpaceReserve
from vigil.record.retention_worker import RetentionWorker
from vigil.record.storage import StorageDir, StorageMissingError, open_storage_dir
from vigil.services import audit as audit_service
from vigil.services import camera_config
from vigil.services.caller import worker_caller
from vigil.services.env import ServiceEnv
from vigil.store.accounts import Accounts
from vigil.store.audit_log import AuditLog
from vigil.store.door_events import DoorStore
from vigil.store.index import Index
from vigil.system.fd_limit import raise_nofile_limit
from vigil.system.hotplug import Hotplug
from vigil.system.parts import Parts
from vigil.system.pid_file import pid_path, remove_pid_file, write_pid_file
from vigil.system.sd_notify import Notifier
from vigil.system.supervision import Supervisor
from vigil.system.wiring import Appliance, attach_appliance
from vigil.webrtc.sessions import WhepSessions
from vigil.webrtc.talk import TalkSessions

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 20.0  # for the recorders to finish their open segments
THREAD_GRACE_S = 1.0  # then for the other camera threads (ingest, motion) to return
EXPORT_GRACE_S = 5.0  # for the export worker to abandon its package and mark queued exports failed
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class Running:
    """What a started daemon is made of (for the appliance's tests and the demo's banner)."""

    index: Index
    storage: StorageDir
    cameras: CameraPipelines
    appliance: Appliance
    services: Services
    url: str


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.stopping = asyncio.Event()
        # The appliance (design/appliance.md): systemd notify/watchdog, hot-plugged disks and cameras.
        self.supervisor = Supervisor(Notifier())
        self.running: Running | None = None  # once every part started; None again once they stopped

    @property
    def url(self) -> str | None:
        return None if self.running is None else self.running.url

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        try:
            async with Parts() as parts:
                self.running = await self._start(parts)
                log.info("recording %d cameras into %s", len(self.running.cameras.pipelines),
                         self.running.storage.path)
                self.supervisor.ready()
                if on_ready is not None:
                    on_ready()
                failure = await parts.until_stopped(self.stopping)
                if failure is not None:
                    raise failure
                log.info("stopping: finishing open segments")
                self.supervisor.stopping()
        finally:
            self.running = None

    async def _start(self, parts: Parts) -> Running:
        """Every part, in order; each may use what the ones before it started."""
        config, loop = self.config, asyncio.get_running_loop()
        await parts.start("supervision", supervision(self.supervisor, loop))
        await parts.start("stop signals", stop_signals(loop, self.stopping))
        index, storage, disk_present = await parts.start("storage", open_storage(config))
        env = await parts.start("service env", database_threads(config, index))
        reserve = SpaceReserve(config.storage.path)  # room for the index on a full disk
        cameras = CameraPipelines(config, index, storage, reserve)
        appliance = attach_appliance(config, self.supervisor, cameras, index, storage, disk_present)
        cameras.storage_ok = lambda: appliance.storage_state() is StorageState.OK
        retention = await parts.start("retention", retention_worker(
            parts, config, index, storage, reserve, lambda: cameras.recorders, appliance.storage_state))
        exports = await parts.start("exports", export_jobs(parts, config, index))
        await parts.start("incident reports", incident_reports(parts, env, exports))
        accounts, audit = Accounts(index), AuditLog(index)
        credentials = await parts.start("credential watch", credential_watch(parts, accounts))
        whep = await parts.start("live sessions", live_sessions(parts, config, credentials, audit))
        talk = await parts.start("talk sessions", talk_sessions(env, credentials, audit))
        wire_reloads(env, cameras, whep)
        alerts = AlertHub()
        doors = await parts.start("door events", door_events(parts, config, index, alerts))
        await parts.start("door adapters", door_adapters(parts, config, doors, index, alerts))
        await parts.start("incident deliveries", incident_deliveries(parts, env, doors))
        access = config.access
        throttle = LoginThrottle(max_failures=access.login_max_failures, lockout_s=access.login_lockout_minutes * 60)
        publisher = DistrictPublisher(env, cameras, alerts, retention.budget_problem, appliance.storage_state)
        services = Services(cameras, throttle, whep=whep, talk=talk, credential_watch=credentials,
                            exports=exports, doors=doors, alerts=alerts, appliance=appliance,
                            budget_problem=retention.budget_problem, district_publisher=publisher.state, env=env)
        await parts.start("incident alerts", incident_alerts(parts, env, alerts))
        await parts.start("district publisher", district_publisher(parts, env, publisher))
        url = await parts.start("http api", http_api(parts, services, len(cameras.pipelines)))
        if appliance.hotplug is not None:
            await parts.start("hotplug", hotplug(parts, appliance.hotplug))
        await parts.start("recording", recording(parts, cameras))
        await parts.start("reload", reloading(parts, loop, env))
        return Running(index, storage, cameras, appliance, services, url)


# --- the parts, in the order the daemon starts them ---------------------------------------------

@asynccontextmanager
async def supervision(supervisor: Supervisor, loop: asyncio.AbstractEventLoop) -> AsyncIterator[None]:
    """sd_notify and the watchdog's pinger (system/supervision.py)."""
    supervisor.start(loop)
    try:
        yield
    except VigilError as error:  # e.g. the recording disk missing at start: say why in `systemctl status`
        supervisor.failed(str(error))
        raise
    finally:
        supervisor.stop()


@asynccontextmanager
async def stop_signals(loop: asyncio.AbstractEventLoop, stopping: asyncio.Event) -> AsyncIterator[None]:
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stopping.set)
    try:
        yield
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def _open_storage(config: Config) -> tuple[Index, StorageDir, bool]:
    """Open the index, verify the recordings dir, and recover from any crash (blocking). The bool:
    the recording disk is there. An appliance (hot-plug on) whose known disk is missing starts
    without it and waits (STATUS and /api/health say so); crash recovery then runs when it returns.
    Elsewhere a missing disk is an error at start."""
    cfg = config.storage
    index = Index.open(cfg.index_path, time.time_ns())
    try:
        try:
            with index.transaction() as conn:
                storage = open_storage_dir(conn, cfg.recordings_path, require_mount=cfg.require_mount)
        except StorageMissingError as missing:
            if not config.appliance.hotplug:
                raise
            log.warning("%s; waiting for it (recovery and recording start when it is back)", missing)
            return index, missing.storage, False
        report = recover(index, storage, time.time_ns())
    except BaseException:
        index.close()
        raise
    if report.recovered_segments or report.orphans_removed or report.dropped_reservations:
        log.warning("recovered after an unclean stop: %s", report)
    return index, storage, True


@asynccontextmanager
async def open_storage(config: Config) -> AsyncIterator[tuple[Index, StorageDir, bool]]:
    """The index and the recordings directory (recovered after a crash, if the disk is there: see
    _open_storage); the index closes last."""
    index, storage, present = await asyncio.to_thread(_open_storage, config)
    try:
        yield index, storage, present
    finally:
        index.close()


@asynccontextmanager
async def database_threads(config: Config, index: Index) -> AsyncIterator[ServiceEnv]:
    """The services' database threads: stopped (after their work) before the index closes."""
    env = ServiceEnv(LiveConfig(config), index)
    try:
        yield env
    finally:
        await asyncio.to_thread(env.close)


@asynccontextmanager
async def retention_worker(parts: Parts, config: Config, index: Index, storage: StorageDir, reserve: SpaceReserve,
                           recorders: Callable[[], Sequence[Recorder]], storage_state: Callable[[], StorageState],
                           ) -> AsyncIterator[RetentionWorker]:
    worker = await RetentionWorker.create(config, index, storage, reserve, recorders, storage_state)
    async with parts.tasks(("retention", worker.run())):
        yield worker


@asynccontextmanager
async def export_jobs(parts: Parts, config: Config, index: Index) -> AsyncIterator[ExportJobs]:
    """Evidence exports (issue 7): the worker thread."""
    jobs = await asyncio.to_thread(ExportJobs, config, index, signing_key_path(config.storage.path),
                                   clip_from_recordings, IncidentDocuments(config, index))
    async with parts.threads(jobs.stop, ("exports", jobs.run), grace_s=EXPORT_GRACE_S):
        yield jobs


@asynccontextmanager
async def incident_reports(parts: Parts, env: ServiceEnv, jobs: ExportJobs) -> AsyncIterator[IncidentReports]:
    """Issue 16: an ended incident's report is queued for the export worker (exports/report_part.py)."""
    reports = IncidentReports(env, jobs)
    env.incident_listeners.append(reports.on_change)
    try:
        async with parts.tasks(("incident-reports", reports.run())):
            yield reports
    finally:
        env.incident_listeners.remove(reports.on_change)


@asynccontextmanager
async def credential_watch(parts: Parts, accounts: Accounts) -> AsyncIterator[CredentialWatch]:
    """Live sessions and alert streams end when their credential is revoked."""
    watch = CredentialWatch(accounts)
    async with parts.tasks(("credential-watch", watch.run())):
        yield watch


@asynccontextmanager
async def live_sessions(parts: Parts, config: Config, credentials: CredentialWatch,
                        audit: AuditLog) -> AsyncIterator[WhepSessions]:
    """WebRTC (WHEP) sessions: silent viewers are closed; every session ends at the stop."""
    webrtc = config.webrtc
    whep = WhepSessions(lambda label: webrtc.servers_for(label, int(time.time())),
                        ViewerLimits(webrtc.max_viewers, webrtc.max_viewers_per_credential,
                                     webrtc.max_viewers_per_link), credentials, audit)
    try:
        async with parts.tasks(("whep-watch", whep.watch())):
            yield whep
    finally:
        await whep.close_all()


@asynccontextmanager
async def talk_sessions(env: ServiceEnv, credentials: CredentialWatch, audit: AuditLog
                        ) -> AsyncIterator[TalkSessions]:
    """Push-to-talk sessions (each ends itself: silence, longest press, device lost; a reload that
    removes its camera or changes its talk path ends it); all end at the stop."""
    webrtc = env.config.webrtc
    talk = TalkSessions(lambda label: webrtc.servers_for(label, int(time.time())), credentials, audit)
    env.live.on_applied.append(talk.config_applied)
    try:
        yield talk
    finally:
        env.live.on_applied.remove(talk.config_applied)
        await talk.close_all()


@asynccontextmanager
async def door_events(parts: Parts, config: Config, index: Index, alerts: AlertHub
                      ) -> AsyncIterator[DoorEventService]:
    """What adapters and the webhook hand door events to; the alert feed ends at the stop."""
    door_key = await asyncio.to_thread(ensure_door_key, config.storage.path / "doors")
    doors = DoorEventService(config, DoorStore(index), alerts, door_key)
    await doors.recall_recent(time.time_ns())  # the windowed flag rules survive a restart
    try:
        async with parts.tasks(("door-events", doors.run())):
            yield doors
    finally:
        alerts.close()


@asynccontextmanager
async def door_adapters(parts: Parts, config: Config, doors: DoorEventService, index: Index,
                        alerts: AlertHub) -> AsyncIterator[None]:
    """MQTT and OnGuard adapters; they wait out a busy index (PatientSink)."""
    sink = PatientSink(doors, index.wait)
    async with parts.tasks(*adapter_tasks(config.door_adapters, sink, alerts)):
        yield


@asynccontextmanager
async def incident_deliveries(parts: Parts, env: ServiceEnv, doors: DoorEventService
                              ) -> AsyncIterator[IncidentWorkers]:
    """Incidents to outside recipients, the MQTT trigger and the door rule (incidents/workers.py)."""
    workers = incident_workers(env, doors)
    try:
        async with parts.tasks(*workers.tasks()):
            yield workers
    finally:
        workers.detach()


@asynccontextmanager
async def incident_alerts(parts: Parts, env: ServiceEnv, alerts: AlertHub) -> AsyncIterator[None]:
    """Incident changes (declared, joined, ended) go out on the alert stream to the building's
    watchers (issue 16): this process's as they commit, the command line's when read
    (incidents/alerts.py)."""
    feed = IncidentAlerts(env, alerts)
    env.incident_listeners.append(feed.changed)
    try:
        async with parts.tasks(("incident-alerts", feed.run())):
            yield
    finally:
        env.incident_listeners.remove(feed.changed)


@asynccontextmanager
async def district_publisher(parts: Parts, env: ServiceEnv, publisher: DistrictPublisher) -> AsyncIterator[None]:
    """What happens here, for the district hub (issue 17, district/publisher.py): idle unless the
    appliance is enrolled and [district] publish is true."""
    env.incident_listeners.append(publisher.incident_changed)
    env.live.on_applied.append(publisher.config_applied)
    try:
        async with parts.tasks(("district-publisher", publisher.run())):
            yield
    finally:
        env.incident_listeners.remove(publisher.incident_changed)
        env.live.on_applied.remove(publisher.config_applied)


@asynccontextmanager
async def http_api(parts: Parts, services: Services, camera_count: int) -> AsyncIterator[str]:
    """The API on its listening socket (api/listener.py); yields its URL. Stopping closes the
    socket, ends the long-lived responses (alert streams, live sessions) and waits for the rest."""
    config = services.config
    http = config.http
    app = build_app(services)
    app.on_shutdown.append(lambda _: _end_streams(services))
    runner = web.AppRunner(app, handle_signals=False, **handler_args(http.limits))
    await runner.setup()
    try:
        ssl_context = None
        if http.tls:
            if http.cert_file is not None and http.key_file is not None:
                cert, key = http.cert_file, http.key_file
            else:
                cert, key = await asyncio.to_thread(ensure_self_signed, config.storage.path / "tls")
            ssl_context = server_context(cert, key)
        # Connections get what the descriptor limit leaves after recording's share (core.conn_limits).
        nofile = raise_nofile_limit()
        budget = effective_max_connections(http.limits, nofile, fd_reserve(camera_count, config.webrtc.max_viewers))
        log.log(logging.WARNING if budget.reduced else logging.INFO, "%s", budget.message(http.limits.max_connections))
        if budget.max_connections < MIN_CONNECTIONS:
            raise VigilError(budget.message(http.limits.max_connections) + ": too few to serve the API")
        listener = ApiListener(runner, http.limits, budget.max_connections, ssl_context)

        def resize(applied: Config) -> None:
            """A reload changed the cameras: recording's share of descriptors with them."""
            cameras = sum(c.enabled for c in applied.cameras)
            now = effective_max_connections(http.limits, nofile, fd_reserve(cameras, config.webrtc.max_viewers))
            if now.max_connections != listener.table.max_connections:
                log.info("%s (%d cameras)", now.message(http.limits.max_connections), cameras)
                listener.table.max_connections = max(MIN_CONNECTIONS, now.max_connections)

        services.env.live.on_applied.append(resize)
        try:
            listener.bind(http.host, http.port)
        except OSError as error:
            raise VigilError(f"cannot listen on {http.host}:{http.port}: {error.strerror}") from None
        try:
            async with parts.tasks(("http-listener", listener.serve())):
                scheme = "https" if http.tls else "http"
                host = "127.0.0.1" if http.host in ("0.0.0.0", "::") else http.host  # noqa: S104
                url = f"{scheme}://{host}:{listener.port}/"
                log.info("API listening on %s", url)
                try:
                    await audit_service.record(services.env, worker_caller(time.time_ns()), "appliance.start",
                                              "appliance", "ok", {"url": url})
                except (IndexBusyError, DiskFullError) as error:  # recording matters more than this entry
                    log.warning("audit entry appliance.start not written: %s", error)
                yield url
        finally:
            listener.close()
    finally:
        await runner.cleanup()


async def _end_streams(services: Services) -> None:
    """aiohttp's on_shutdown: the responses that would otherwise outlive the stop."""
    if services.alerts is not None:
        services.alerts.close()
    if services.whep is not None:
        await services.whep.close_all()
    if services.talk is not None:
        await services.talk.close_all()


@asynccontextmanager
async def hotplug(parts: Parts, watch: Hotplug) -> AsyncIterator[None]:
    """Hot-plugged disks and cameras (system/hotplug.py)."""
    async with parts.tasks(("hotplug", watch.run())):
        yield


@asynccontextmanager
async def recording(parts: Parts, cameras: CameraPipelines) -> AsyncIterator[None]:
    """Each camera's threads (ingest, recorder, motion); a reload stops and starts some of them
    (CameraPipelines.apply). Stopping ends ingest and waits for the recorders to finish their
    open segments, before anything they write to stops."""
    cameras.start(parts.thread)
    try:
        yield
    finally:
        await cameras.stop_all(STOP_TIMEOUT_S, THREAD_GRACE_S)


@asynccontextmanager
async def reloading(parts: Parts, loop: asyncio.AbstractEventLoop, env: ServiceEnv) -> AsyncIterator[None]:
    """SIGHUP (`systemctl reload`, `vigil reload`) re-reads the file and applies it as the API's
    `POST /api/config/reload` does (design/cameras.md "Reload without loss"). The pid file tells
    `vigil reload` whom to signal."""
    hangups: asyncio.Queue[None] = asyncio.Queue(maxsize=1)  # reloads asked while one runs: one more

    def hangup() -> None:
        with contextlib.suppress(asyncio.QueueFull):
            hangups.put_nowait(None)

    async def on_hangup() -> None:
        while True:
            await hangups.get()
            log.info("SIGHUP: reloading %s", env.config.source)
            try:
                await camera_config.reload(env, worker_caller(time.time_ns(), "sighup"))
            except VigilError as error:  # logged and audited by the reload: the daemon runs on unchanged
                log.warning("SIGHUP reload: %s", error)

    pid_file = pid_path(env.config.storage.path)
    await asyncio.to_thread(write_pid_file, pid_file)
    loop.add_signal_handler(signal.SIGHUP, hangup)
    try:
        async with parts.tasks(("reload", on_hangup())):
            yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        await asyncio.to_thread(remove_pid_file, pid_file)


def wire_reloads(env: ServiceEnv, cameras: CameraPipelines, whep: WhepSessions) -> None:
    """What an applied configuration reaches, from before the API listens: the camera pipelines
    (started or not yet), the log redaction (new passwords), live viewers of stopped cameras."""
    env.live.cameras = cameras.apply
    env.live.on_applied.append(lambda config: add_secrets(config.secrets))

    async def end_viewers(camera_id: str) -> None:
        await whep.close_camera(camera_id, "the camera's configuration changed")

    cameras.on_camera_stopped.append(end_viewers)
