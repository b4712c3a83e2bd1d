"""The cameras being recorded: per enabled camera, ingest (main stream, optional substream) ->
fanout -> recorder, and the motion worker. What the API asks about cameras
(api.context.CameraStatusSource) and what the appliance asks (system.wiring.Recording) come
from here, always about the current set. Each pipeline runs on threads of its own, started by
the daemon's `recording` part (vigil.app), stopped and started one by one by a reload (`apply`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from vigil.api.context import CameraStatus, LiveSource
from vigil.config import CameraConfig, Config
from vigil.core.camera_changes import CameraChanges
from vigil.core.camera_health import Transition
from vigil.core.camera_modes import IngestPath, MotionMode, Stream
from vigil.core.media import EncodedPacket, StreamInfo
from vigil.core.motion import MotionParams
from vigil.core.motion_intervals import mask_cells
from vigil.core.rotation import RotationPolicy
from vigil.core.timebase import seconds_to_ticks
from vigil.ingest.fanout import Fanout
from vigil.ingest.native_ingest import NativeRtspIngest
from vigil.ingest.rtsp import RtspIngest
from vigil.motion.worker import QUEUE_PACKETS as MOTION_QUEUE_PACKETS
from vigil.motion.worker import MotionWorker
from vigil.record.recorder import Recorder
from vigil.record.reserve import SpaceReserve
from vigil.record.storage import StorageDir
from vigil.store.index import Index
from vigil.store.motion import MotionStore
from vigil.store.pending_writes import PendingWrites, event_added

log = logging.getLogger(__name__)

RECORDER_QUEUE_PACKETS = 600  # ~40 s at 15 fps: a slow disk stalls this long before a gap
RECORDER_AUDIO_QUEUE_PACKETS = 2000  # ~40 s of AAC at 48 kHz (47 frames/s), as long as the video's
RELOAD_STOP_TIMEOUT_S = 20.0  # for a removed camera's recorder to finish its open segment
RELOAD_THREAD_GRACE_S = 1.0  # then for its other threads (ingest, motion) to return
Spawn = Callable[[str, Callable[[], None]], "asyncio.Task[None]"]  # (thread name, body) -> its task
Ingest = RtspIngest | NativeRtspIngest  # the same interface: FFmpeg's demuxer or Vigil's own client


@dataclass
class CameraPipeline:
    camera: CameraConfig
    fanout: Fanout
    ingest: Ingest
    recorder: Recorder
    # The main stream's audio (AudioStarted/AudioPacket): live listening, and recording with record_audio.
    audio_fanout: Fanout
    # The substream (live viewing on small screens, later motion): ingested, not recorded.
    sub_fanout: Fanout | None = None
    sub_ingest: Ingest | None = None
    motion: MotionWorker | None = None

    def source(self, quality: Stream) -> tuple[Fanout, Ingest] | None:
        if quality is Stream.SUB:
            return None if self.sub_fanout is None or self.sub_ingest is None else (self.sub_fanout, self.sub_ingest)
        return self.fanout, self.ingest

    def threads(self) -> list[tuple[str, Callable[[], None]]]:
        """(thread name, body) of each thread this camera runs on (names: system/journal.py)."""
        bodies: list[tuple[str, Callable[[], None]]] = [(f"rec-{self.camera.id}", self.recorder.run),
                                                        (f"rtsp-{self.camera.id}", self.ingest.run)]
        if self.sub_ingest is not None:
            bodies.append((f"rtsp-{self.camera.id}-sub", self.sub_ingest.run))
        if self.motion is not None:
            bodies.append((f"motion-{self.camera.id}", self.motion.run))
        return bodies

    def stop(self) -> None:
        self.ingest.stop()
        self.fanout.close()  # the recorder drains what it has, closes its segment and returns
        self.audio_fanout.close()
        if self.sub_ingest is not None and self.sub_fanout is not None:
            self.sub_ingest.stop()
            self.sub_fanout.close()


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


def _wait_recorders(pipelines: Sequence[CameraPipeline], timeout_s: float) -> None:
    """Until each recorder closed its segment, at most timeout_s in all (blocking)."""
    deadline = time.monotonic() + timeout_s
    for p in pipelines:
        if not p.recorder.finished.wait(max(0.0, deadline - time.monotonic())):
            log.error("recorder %s did not finish its segment in time", p.recorder.name)


def ingest_class(camera: CameraConfig) -> type[Ingest]:
    """Which RTSP client reads the camera (its `ingest` setting; design/ingest.md)."""
    return NativeRtspIngest if camera.ingest is IngestPath.NATIVE else RtspIngest


def _pipeline(config: Config, camera: CameraConfig, index: Index, storage: StorageDir,
              reserve: SpaceReserve) -> CameraPipeline:
    policy = RotationPolicy(target_90k=seconds_to_ticks(config.storage.segment_duration_s))
    fanout = Fanout()
    sub = fanout.subscribe(f"{camera.id}/recorder", RECORDER_QUEUE_PACKETS)
    # One ordered queue of index writes per camera; the recorder thread flushes it.
    writes = PendingWrites(index, camera.id)
    audio_fanout = Fanout()
    ingest = ingest_class(camera)(camera, camera.url, Stream.MAIN, fanout, _record_transition(writes, camera.id),
                        audio_fanout=audio_fanout)
    # record_audio (off by default: recording sound may be regulated): the recorder reads the audio too.
    audio_sub = audio_fanout.subscribe(f"{camera.id}/recorder-audio", RECORDER_AUDIO_QUEUE_PACKETS) \
        if camera.record_audio else None
    recorder = Recorder(camera.id, Stream.MAIN, sub, index, storage, policy, index_writes=writes, reserve=reserve,
                        audio_subscription=audio_sub, audio_expected=lambda: ingest.audio)
    pipeline = CameraPipeline(camera, fanout, ingest, recorder, audio_fanout)
    if camera.substream_url is not None:
        pipeline.sub_fanout = Fanout()
        pipeline.sub_ingest = ingest_class(camera)(camera, camera.substream_url, Stream.SUB, pipeline.sub_fanout,
                                         lambda t: None)  # up/down events come from the main stream
    mode = camera.motion_mode
    motion_source = pipeline.sub_fanout if mode is MotionMode.SUBSTREAM else fanout
    if mode is not MotionMode.OFF and motion_source is not None:
        params = MotionParams.with_sensitivity(camera.motion_sensitivity, mask_cells(camera.motion_mask))
        pipeline.motion = MotionWorker(
            camera.id, mode, motion_source.subscribe(f"{camera.id}/motion", MOTION_QUEUE_PACKETS),
            MotionStore(index, writes), params, _record_event(writes, camera.id))
    return pipeline


class CameraPipelines:
    """One pipeline per enabled camera: a set that a reload changes (design/cameras.md "Reload
    without loss"). `start` runs every pipeline's threads (the daemon's `recording` part), `apply`
    stops and starts the ones a reload names and touches no other, `stop_all` ends them all."""

    def __init__(self, config: Config, index: Index, storage: StorageDir, reserve: SpaceReserve) -> None:
        self._build: Callable[[CameraConfig], CameraPipeline] = (
            lambda camera: _pipeline(config, camera, index, storage, reserve))
        self._pipelines: dict[str, CameraPipeline] = {c.id: self._build(c) for c in config.cameras if c.enabled}
        self._threads: dict[str, list[asyncio.Task[None]]] = {}
        self._spawn: Spawn | None = None  # set by `start`; until then a reload only changes the set
        self._closed = False  # `stop_all` began: a reload starts nothing more
        # Called with a camera's id when its pipeline stops on a reload (its live viewers are ended).
        self.on_camera_stopped: list[Callable[[str], Awaitable[None]]] = []
        # Whether recorders may write now (the appliance's storage gate, system/wiring.py): a camera
        # added by a reload while the recording disk is away starts gated like the others.
        self.storage_ok: Callable[[], bool] = lambda: True

    @property
    def pipelines(self) -> tuple[CameraPipeline, ...]:
        return tuple(self._pipelines.values())

    @property
    def recorders(self) -> list[Recorder]:
        return [p.recorder for p in self.pipelines]

    def start(self, spawn: Spawn) -> None:
        """Start every pipeline's threads with `spawn` (system.parts.Parts.thread)."""
        self._spawn = spawn
        for p in self.pipelines:
            self._start(p)

    def _start(self, p: CameraPipeline) -> None:
        assert self._spawn is not None
        self._threads[p.camera.id] = [self._spawn(name, body) for name, body in p.threads()]

    async def _stop(self, stopping: list[CameraPipeline], timeout_s: float, grace_s: float) -> None:
        """Ask the pipelines to stop, wait for their recorders to finish their open segments (on a
        thread: never blocking the loop), then for their threads to return (their tasks awaited)."""
        for p in stopping:
            p.stop()
        started = [p for p in stopping if p.camera.id in self._threads]  # never started: nothing to wait for
        await asyncio.to_thread(_wait_recorders, started, timeout_s)
        tasks = [t for p in started for t in self._threads.pop(p.camera.id, [])]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            for task in late:
                log.warning("thread %s did not end within %.0f s of the stop; leaving it", task.get_name(), grace_s)
                task.cancel()

    async def apply(self, changes: CameraChanges, config: Config) -> None:
        """Apply a reload's camera changes: stop the removed and restarted pipelines, start the
        added and restarted ones that are enabled, update the others' settings in place."""
        cameras = {c.id: c for c in config.cameras}
        # Copy on write: other threads (the watchdog's pinger, the hot-plug gate) read the set.
        running = dict(self._pipelines)
        stopping = [running.pop(i) for i in changes.to_stop if i in running]
        self._pipelines = running
        if stopping:
            log.info("reload: stopping %s", ", ".join(p.camera.id for p in stopping))
            await self._stop(stopping, RELOAD_STOP_TIMEOUT_S, RELOAD_THREAD_GRACE_S)
            for p in stopping:
                for hook in self.on_camera_stopped:
                    await hook(p.camera.id)
        for camera_id in changes.updated:  # name or building: nothing the threads use
            if camera_id in self._pipelines:
                self._pipelines[camera_id].camera = cameras[camera_id]
        for camera_id in changes.to_start:
            camera = cameras[camera_id]
            if not camera.enabled:
                continue
            if self._closed:  # the daemon is stopping: the next start reads the file
                continue
            pipeline = self._build(camera)
            if not self.storage_ok():
                pipeline.recorder.storage_ok.clear()
            self._pipelines = {**self._pipelines, camera_id: pipeline}
            if self._spawn is not None:  # else `start` starts it with the others
                self._start(pipeline)
                log.info("reload: camera %s started", camera_id)

    async def stop_all(self, timeout_s: float, grace_s: float) -> None:
        """The daemon's stop: every pipeline stops and every open segment is finished."""
        self._closed = True
        await self._stop(list(self.pipelines), timeout_s, grace_s)

    # --- what the appliance asks (system.wiring.Recording) --------------------------------------

    def status_counts(self) -> tuple[int, int, int]:
        """(cameras, up, recording)."""
        states = [self.camera_status(p.camera.id) for p in self.pipelines]
        return len(states), sum(s.state == "up" for s in states), sum(s.recording for s in states)

    # --- what the API asks about cameras (api.context.CameraStatusSource) -----------------------

    def _pipeline(self, camera_id: str) -> CameraPipeline | None:
        return self._pipelines.get(camera_id)

    def camera_status(self, camera_id: str) -> CameraStatus:
        p = self._pipeline(camera_id)
        if p is None:
            return CameraStatus("down", "disabled", False, None)
        health = p.ingest.health
        reason = p.recorder.paused_reason or (health.reason.value if health.reason else None)
        return CameraStatus(health.state.value, reason, p.recorder.recording, p.ingest.last_packet_wall_ns,
                            p.recorder.paused_reason, p.ingest.clock_skew_ms)

    def latest_keyframe(self, camera_id: str) -> tuple[StreamInfo, EncodedPacket] | None:
        p = self._pipeline(camera_id)
        return None if p is None else p.fanout.latest_keyframe()

    def live_source(self, camera_id: str, quality: Stream) -> LiveSource | None:
        p = self._pipeline(camera_id)
        source = None if p is None else p.source(quality)
        if source is None:
            return None
        fanout, ingest = source
        assert p is not None
        return LiveSource(fanout, ingest.codec, ingest.has_bframes, p.audio_fanout, p.ingest.audio)
