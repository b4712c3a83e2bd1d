"""The cameras being recorded: per enabled camera, ingest (main stream, optional substream) ->
fanout -> recorder, and the motion worker. What the API asks about cameras
(api.context.CameraStatusSource) and what the appliance asks (system.wiring.Recording) come
from here. Each pipeline runs on threads of its own, started and stopped by the daemon's
`recording` part (vigil.app)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from vigil.api.context import CameraStatus, LiveSource
from vigil.config import CameraConfig, Config
from vigil.core.camera_health import Transition
from vigil.core.camera_modes import MotionMode, Stream
from vigil.core.media import EncodedPacket, StreamInfo
from vigil.core.motion import MotionParams
from vigil.core.motion_intervals import mask_cells
from vigil.core.rotation import RotationPolicy
from vigil.core.timebase import seconds_to_ticks
from vigil.ingest.fanout import Fanout
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


def _pipeline(config: Config, camera: CameraConfig, index: Index, storage: StorageDir,
              reserve: SpaceReserve) -> CameraPipeline:
    policy = RotationPolicy(target_90k=seconds_to_ticks(config.storage.segment_duration_s))
    fanout = Fanout()
    sub = fanout.subscribe(f"{camera.id}/recorder", RECORDER_QUEUE_PACKETS)
    # One ordered queue of index writes per camera; the recorder thread flushes it.
    writes = PendingWrites(index, camera.id)
    ingest = RtspIngest(camera, camera.url, Stream.MAIN, fanout, _record_transition(writes, camera.id))
    recorder = Recorder(camera.id, Stream.MAIN, sub, index, storage, policy, index_writes=writes, reserve=reserve)
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
    return pipeline


class CameraPipelines:
    """One pipeline per enabled camera (built, not started: the threads are the daemon's part)."""

    def __init__(self, config: Config, index: Index, storage: StorageDir, reserve: SpaceReserve) -> None:
        self.pipelines = tuple(_pipeline(config, camera, index, storage, reserve)
                               for camera in config.cameras if camera.enabled)

    @property
    def recorders(self) -> list[Recorder]:
        return [p.recorder for p in self.pipelines]

    def threads(self) -> list[tuple[str, Callable[[], None]]]:
        return [thread for p in self.pipelines for thread in p.threads()]

    def stop(self) -> None:
        """Ask every camera to stop: ingest ends, recorders close their segment and return."""
        for p in self.pipelines:
            p.stop()

    def wait_recorders(self, timeout_s: float) -> None:
        """Until every recorder closed its segment, at most timeout_s in all (blocking)."""
        deadline = time.monotonic() + timeout_s
        for p in self.pipelines:
            if not p.recorder.finished.wait(max(0.0, deadline - time.monotonic())):
                log.error("recorder %s did not finish its segment in time", p.recorder.name)

    # --- what the appliance asks (system.wiring.Recording) --------------------------------------

    def status_counts(self) -> tuple[int, int, int]:
        """(cameras, up, recording)."""
        states = [self.camera_status(p.camera.id) for p in self.pipelines]
        return len(states), sum(s.state == "up" for s in states), sum(s.recording for s in states)

    # --- what the API asks about cameras (api.context.CameraStatusSource) -----------------------

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
