"""Wiring: config -> index, storage, recovery -> per-camera ingest + recorder -> retention, all
under one asyncio.TaskGroup. SIGTERM/SIGINT finish open segments cleanly and return 0."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from vigil.api.context import CameraStatus, LiveSource, Services
from vigil.api.listener import ApiListener, handler_args
from vigil.api.routes import build_app
from vigil.api.tls import ensure_self_signed, server_context
from vigil.config import CameraConfig, Config
from vigil.core.camera_health import Transition
from vigil.core.camera_modes import MotionMode, Stream
from vigil.core.conn_limits import MIN_CONNECTIONS, effective_max_connections, fd_reserve
from vigil.core.errors import DiskFullError, IndexBusyError, VigilError
from vigil.core.hotplug import StorageState
from vigil.core.live_grants import ViewerLimits
from vigil.core.media import EncodedPacket, StreamInfo
from vigil.core.motion import MotionParams
from vigil.core.motion_intervals import mask_cells
from vigil.core.ratelimit import LoginThrottle
from vigil.core.retention import incoming_bytes
from vigil.core.rotation import RotationPolicy
from vigil.core.timebase import seconds_to_ticks
from vigil.core.write_failure import WriteFailure
from vigil.credential_watch import CredentialWatch
from vigil.doors.adapters import adapter_tasks  # door-event adapters
from vigil.doors.alerts import AlertHub
from vigil.doors.keys import ensure_door_key
from vigil.doors.patient_sink import PatientSink
from vigil.doors.service import DoorEventService
from vigil.exports.jobs import ExportJobs
from vigil.exports.package import clip_from_recordings
from vigil.exports.signing import signing_key_path
from vigil.ingest.fanout import Fanout
from vigil.ingest.rtsp import RtspIngest
from vigil.motion.worker import QUEUE_PACKETS as MOTION_QUEUE_PACKETS
from vigil.motion.worker import MotionWorker
from vigil.record.recorder import Recorder
from vigil.record.recovery import recover
from vigil.record.reserve import SpaceReserve
from vigil.record.retention import enforce_retention, policy_of
from vigil.record.storage import StorageDir, open_storage_dir
from vigil.record.storage_usage import disk_usage, storage_budget_problems
from vigil.record.storage_warnings import StorageWarnings
from vigil.store.accounts import Accounts
from vigil.store.audit_log import AuditLog
from vigil.store.door_events import DoorStore
from vigil.store.index import Index
from vigil.store.motion import MotionStore
from vigil.store.pending_writes import PendingWrites, event_added
from vigil.system.fd_limit import raise_nofile_limit
from vigil.system.sd_notify import Notifier
from vigil.system.supervision import Supervisor
from vigil.system.wiring import Appliance, attach_appliance
from vigil.threads import run_in_thread
from vigil.webrtc.sessions import WhepSessions

log = logging.getLogger(__name__)

RECORDER_QUEUE_PACKETS = 600  # ~40 s at 15 fps: a slow disk stalls this long before a gap
STOP_TIMEOUT_S = 20.0


@dataclass
class CameraPipeline:
    camera: CameraConfig
    fanout: Fanout
    ingest: RtspIngest
    recorder: Recorder
    # The substream (live viewing on small screens, later motion): ingested, not recorded.
    sub_fanout: Fanout | None = None
    sub_ingest: RtspIngest | None = None
    motion: MotionWorker | None = None

    def source(self, quality: Stream) -> tuple[Fanout, RtspIngest] | None:
        if quality is Stream.SUB:
            return None if self.sub_fanout is None or self.sub_ingest is None else (self.sub_fanout, self.sub_ingest)
        return self.fanout, self.ingest


def _record_event(writes: PendingWrites, camera_id: str) -> Callable[[str, int, str | None, str | None], None]:
    def record(kind: str, wall_ns: int, reason: str | None, detail: str | None) -> None:
        writes.submit(event_added(camera_id, kind, wall_ns, reason, detail))  # queued while the index is busy

    return record


def _record_transition(writes: PendingWrites, camera_id: str) -> Callable[[Transition], None]:
    def record(t: Transition) -> None:
        detail = None if t.down_for_ns is None else f"down for {t.down_for_ns / 1e9:.1f} s"
        writes.submit(event_added(camera_id, t.kind, t.wall_ns, t.reason.value if t.reason else None, detail))
        if t.kind == "camera_up":
            log.info("camera %s: up%s", camera_id, f" ({detail})" if detail else "")

    return record


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.index: Index | None = None
        self.storage: StorageDir | None = None
        self.pipelines: list[CameraPipeline] = []
        self.stopping = asyncio.Event()
        self.url: str | None = None
        self.whep: WhepSessions | None = None
        self.credential_watch: CredentialWatch | None = None
        self._shortfall_warned = False
        self.storage_warnings: StorageWarnings | None = None  # the retention loop's view of the budget
        self.reserve = SpaceReserve(config.storage.path)  # room for the index on a full disk
        self.exports: ExportJobs | None = None  # evidence exports (issue 7)
        self.alerts = AlertHub()
        self.doors: DoorEventService | None = None
        # The appliance (design/appliance.md): systemd notify/watchdog, hot-plugged disks and cameras.
        self.supervisor = Supervisor(Notifier())
        self.appliance: Appliance | None = None
        self.listener: ApiListener | None = None  # the API's accept loop, run in the TaskGroup

    def open_storage(self) -> tuple[Index, StorageDir]:
        """Open the index, verify the recordings dir, and recover from any crash (blocking)."""
        cfg = self.config.storage
        index = Index.open(cfg.index_path, time.time_ns())
        try:
            with index.transaction() as conn:
                storage = open_storage_dir(conn, cfg.recordings_path, require_mount=cfg.require_mount)
            report = recover(index, storage, time.time_ns())
        except BaseException:
            index.close()
            raise
        if report.recovered_segments or report.orphans_removed or report.dropped_reservations:
            log.warning("recovered after an unclean stop: %s", report)
        return index, storage

    def _build(self, index: Index, storage: StorageDir) -> None:
        policy = RotationPolicy(target_90k=seconds_to_ticks(self.config.storage.segment_duration_s))
        for camera in self.config.cameras:
            if not camera.enabled:
                continue
            fanout = Fanout()
            sub = fanout.subscribe(f"{camera.id}/recorder", RECORDER_QUEUE_PACKETS)
            # One ordered queue of index writes per camera; the recorder thread flushes it.
            writes = PendingWrites(index, camera.id)
            ingest = RtspIngest(camera, camera.url, Stream.MAIN, fanout, _record_transition(writes, camera.id))
            recorder = Recorder(camera.id, Stream.MAIN, sub, index, storage, policy, index_writes=writes,
                                reserve=self.reserve)
            pipeline = CameraPipeline(camera, fanout, ingest, recorder)
            if camera.substream_url is not None:
                pipeline.sub_fanout = Fanout()
                pipeline.sub_ingest = RtspIngest(camera, camera.substream_url, Stream.SUB, pipeline.sub_fanout,
                                                 lambda t: None)  # up/down events come from the main stream
            mode = camera.motion_mode
            motion_source = pipeline.sub_fanout if mode is MotionMode.SUBSTREAM else fanout
            if mode is not MotionMode.OFF and motion_source is not None:
                params = MotionParams.with_sensitivity(camera.motion_sensitivity, mask_cells(camera.motion_mask))
                pipeline.motion = MotionWorker(
                    camera.id, mode, motion_source.subscribe(f"{camera.id}/motion", MOTION_QUEUE_PACKETS),
                    MotionStore(index, writes), params, _record_event(writes, camera.id))
            self.pipelines.append(pipeline)

    # --- what the API asks about cameras (api.context.CameraStatusSource) ----------------------

    def _pipeline(self, camera_id: str) -> CameraPipeline | None:
        return next((p for p in self.pipelines if p.camera.id == camera_id), None)

    def camera_status(self, camera_id: str) -> CameraStatus:
        p = self._pipeline(camera_id)
        if p is None:
            return CameraStatus("down", "disabled", False, None)
        health = p.ingest.health
        reason = p.recorder.paused_reason or (health.reason.value if health.reason else None)
        return CameraStatus(health.state.value, reason, p.recorder.recording, p.ingest.last_packet_wall_ns,
                            p.recorder.paused_reason)

    def latest_keyframe(self, camera_id: str) -> tuple[StreamInfo, EncodedPacket] | None:
        p = self._pipeline(camera_id)
        return None if p is None else p.fanout.latest_keyframe()

    def live_source(self, camera_id: str, quality: Stream) -> LiveSource | None:
        p = self._pipeline(camera_id)
        source = None if p is None else p.source(quality)
        if source is None:
            return None
        fanout, ingest = source
        return LiveSource(fanout, ingest.codec, ingest.has_bframes)

    async def _start_api(self, index: Index) -> web.AppRunner:
        http = self.config.http
        access = self.config.access
        throttle = LoginThrottle(max_failures=access.login_max_failures, lockout_s=access.login_lockout_minutes * 60)
        webrtc = self.config.webrtc
        accounts, audit = Accounts(index), AuditLog(index)
        self.credential_watch = CredentialWatch(accounts)
        self.whep = WhepSessions(lambda label: webrtc.servers_for(label, int(time.time())),
                                 ViewerLimits(webrtc.max_viewers, webrtc.max_viewers_per_credential),
                                 self.credential_watch, audit)
        services = Services(self.config, index, accounts, audit, self, throttle, whep=self.whep,
                            credential_watch=self.credential_watch,
                            appliance=self.appliance)
        services.exports = self.exports
        services.budget_problem = lambda: (None if self.storage_warnings is None
                                           else self.storage_warnings.budget_problem)
        # door events: the sink adapters and the webhook hand events to, and the live alert feed
        door_key = await asyncio.to_thread(ensure_door_key, self.config.storage.path / "doors")
        self.doors = services.doors = DoorEventService(self.config, DoorStore(index), self.alerts, door_key)
        services.alerts = self.alerts
        await self.doors.recall_recent(time.time_ns())  # the windowed flag rules survive a restart
        runner = web.AppRunner(build_app(services), handle_signals=False, **handler_args(http.limits))
        await runner.setup()
        ssl_context = None
        if http.tls:
            if http.cert_file is not None and http.key_file is not None:
                cert, key = http.cert_file, http.key_file
            else:
                cert, key = await asyncio.to_thread(ensure_self_signed, self.config.storage.path / "tls")
            ssl_context = server_context(cert, key)
        # Connections get what the descriptor limit leaves after recording's share (core.conn_limits).
        budget = effective_max_connections(http.limits, raise_nofile_limit(),
                                           fd_reserve(len(self.pipelines), webrtc.max_viewers))
        log.log(logging.WARNING if budget.reduced else logging.INFO, "%s", budget.message(http.limits.max_connections))
        self.listener = ApiListener(runner, http.limits, budget.max_connections, ssl_context)
        try:
            if budget.max_connections < MIN_CONNECTIONS:
                raise VigilError(budget.message(http.limits.max_connections) + ": too few to serve the API")
            self.listener.bind(http.host, http.port)
        except OSError as error:
            await runner.cleanup()
            raise VigilError(f"cannot listen on {http.host}:{http.port}: {error.strerror}") from None
        except VigilError:
            await runner.cleanup()
            raise
        scheme = "https" if http.tls else "http"
        host = "127.0.0.1" if http.host in ("0.0.0.0", "::") else http.host  # noqa: S104
        self.url = f"{scheme}://{host}:{self.listener.port}/"
        log.info("API listening on %s", self.url)
        try:
            services.audit.append(time.time_ns(), "system", "appliance.start", "appliance", "ok", {"url": self.url})
        except (IndexBusyError, DiskFullError) as error:  # recording matters more than this entry
            log.warning("audit entry appliance.start not written: %s", error)
        return runner

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        self.supervisor.start(asyncio.get_running_loop())
        try:
            await self._run(on_ready)
        except VigilError as error:  # e.g. the recording disk missing at start: say why in `systemctl status`
            self.supervisor.failed(str(error))
            raise
        finally:
            self.supervisor.stop()

    async def _run(self, on_ready: Callable[[], None] | None) -> None:
        index, storage = await asyncio.to_thread(self.open_storage)
        self.index, self.storage = index, storage
        self._build(index, storage)
        self.appliance = attach_appliance(self, index, storage)
        try:
            self.exports = await asyncio.to_thread(ExportJobs, self.config, index,
                                                   signing_key_path(self.config.storage.path), clip_from_recordings)
            runner = await self._start_api(index)
        except BaseException:
            index.close()
            raise
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        try:
            async with asyncio.TaskGroup() as tg:
                for p in self.pipelines:
                    tg.create_task(run_in_thread(f"rec-{p.camera.id}", p.recorder.run))
                    tg.create_task(run_in_thread(f"rtsp-{p.camera.id}", p.ingest.run))
                    if p.sub_ingest is not None:
                        tg.create_task(run_in_thread(f"rtsp-{p.camera.id}-sub", p.sub_ingest.run))
                    if p.motion is not None:
                        tg.create_task(run_in_thread(f"motion-{p.camera.id}", p.motion.run))
                tg.create_task(self._retention_loop())
                if self.listener is not None:
                    tg.create_task(self.listener.serve())
                if self.exports is not None:
                    tg.create_task(run_in_thread("exports", self.exports.run))
                if self.whep is not None:
                    tg.create_task(self.whep.watch())
                if self.credential_watch is not None:  # live sessions and alert streams end on revocation
                    tg.create_task(self.credential_watch.run())
                if self.doors is not None:
                    tg.create_task(self.doors.run())
                    # door-event adapters (MQTT, OnGuard pollers)
                    sink = PatientSink(self.doors, self.index.wait)  # adapters wait out a busy index
                    for name, adapter in adapter_tasks(self.config.door_adapters, sink, self.alerts):
                        tg.create_task(adapter, name=name)
                tg.create_task(self._stop_when_asked())
                if self.appliance.hotplug is not None:
                    tg.create_task(self.appliance.hotplug.run())
                log.info("recording %d cameras into %s", len(self.pipelines), storage.path)
                self.supervisor.ready()
                if on_ready is not None:
                    on_ready()
        except* _StopRequestedError:
            pass
        finally:
            # Also on a failure: let recorders close their segments before the index closes.
            self._stop_pipelines()
            if self.whep is not None:
                await self.whep.close_all()
            self.alerts.close()  # ends alert streams so the API can stop
            await runner.cleanup()
            await asyncio.to_thread(self._wait_recorders, STOP_TIMEOUT_S)
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            index.close()

    async def _stop_when_asked(self) -> None:
        await self.stopping.wait()
        log.info("stopping: finishing open segments")
        self.supervisor.stopping()
        self._stop_pipelines()
        await asyncio.to_thread(self._wait_recorders, STOP_TIMEOUT_S)
        raise _StopRequestedError

    def _wait_recorders(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for p in self.pipelines:
            if not p.recorder.finished.wait(max(0.0, deadline - time.monotonic())):
                log.error("recorder %s did not finish its segment in time", p.recorder.name)

    def _stop_pipelines(self) -> None:
        if self.exports is not None:
            self.exports.stop()
        for p in self.pipelines:
            p.ingest.stop()
            p.fanout.close()  # recorders drain what they have, close their segment and return
            if p.sub_ingest is not None and p.sub_fanout is not None:
                p.sub_ingest.stop()
                p.sub_fanout.close()

    async def _retention_loop(self) -> None:
        assert self.index is not None and self.storage is not None
        index, storage = self.index, self.storage
        policy = policy_of(self.config.storage)
        interval_s = self.config.storage.retention_interval_s
        last_written: int | None = None
        problems = await asyncio.to_thread(storage_budget_problems, self.config)
        watch = self.storage_warnings = StorageWarnings(policy, storage, problems, self.reserve)
        for problem in watch.problems:  # also in `vigil check`, `vigil storage` and /api/health
            log.error("STORAGE BUDGET %s: %s", "IMPOSSIBLE" if problem.impossible else "TOO SMALL", problem.message)
        while True:
            if self.appliance is not None and self.appliance.storage_state() is not StorageState.OK:
                await asyncio.sleep(interval_s)  # nothing to free on a missing or foreign disk
                continue
            await asyncio.to_thread(self._keep_reserve)
            written = sum(p.recorder.bytes_written for p in self.pipelines)
            incoming = incoming_bytes(None if last_written is None else written - last_written, len(self.pipelines),
                                      interval_s)
            last_written = written
            try:
                result = await asyncio.to_thread(enforce_retention, index, storage, policy, incoming, time.time_ns(),
                                                 self.reserve)
            except (IndexBusyError, DiskFullError) as error:  # nothing deleted this round; the next one tries again
                log.warning("retention: %s; trying again in %.0f s", error, interval_s)
                await asyncio.sleep(interval_s)
                continue
            await asyncio.to_thread(watch.observe, result)  # logs storage warning level changes (issue 7)
            if result.plan.shortfall_bytes and not self._shortfall_warned:
                self._shortfall_warned = True
                log.warning("retention: %d bytes could not be freed (evidence holds keep %d bytes, each camera's"
                            " newest minutes %d more)", result.plan.shortfall_bytes, result.plan.held_bytes,
                            result.plan.kept_newest_bytes)
            elif not result.plan.shortfall_bytes and self._shortfall_warned:
                self._shortfall_warned = False
                log.info("retention: storage budget met again")
            await asyncio.sleep(interval_s)


    def _keep_reserve(self) -> None:
        """Give the index's reserve up while a camera is paused on a full disk; else keep it (blocking)."""
        if any(p.recorder.paused_reason == WriteFailure.DISK_FULL.value for p in self.pipelines):
            self.reserve.give_up()
        else:
            self.reserve.ensure(disk_usage(self.config.storage.path).free_bytes)


class _StopRequestedError(Exception):
    """Unwinds the TaskGroup once the pipelines were asked to stop."""
