"""The appliance parts of the daemon, started by vigil.app as one part: systemd supervision's
view of the recorders and hot-plug. They see the cameras through `Recording` only."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol

from vigil.config import Config
from vigil.core.errors import IndexBusyError
from vigil.core.hotplug import AvailableCamera, StorageState
from vigil.core.watchdog import StatusCounts, status_line
from vigil.record.recorder import Recorder
from vigil.record.recovery import recover, recover_segment
from vigil.record.storage import StorageDir
from vigil.store.index import Index
from vigil.system.hotplug import Hotplug, StorageWatch
from vigil.system.supervision import Supervisor, recorder_beats

log = logging.getLogger(__name__)


class Recording(Protocol):
    """What the appliance needs of the cameras being recorded (vigil.pipelines.CameraPipelines)."""

    @property
    def recorders(self) -> Sequence[Recorder]: ...

    def status_counts(self) -> tuple[int, int, int]:
        """(cameras, up, recording)."""
        ...


class Appliance:
    """What the API asks about the appliance (core.hotplug.ApplianceSource)."""

    def __init__(self, recording: Recording, hotplug: Hotplug | None, storage: StorageWatch) -> None:
        self.recording = recording
        self.hotplug = hotplug
        self.storage = storage

    def storage_state(self) -> StorageState:
        return self.storage.state

    def available_cameras(self) -> list[AvailableCamera]:
        return [] if self.hotplug is None else self.hotplug.available_cameras()

    def status(self) -> str:
        cameras, up, recording = self.recording.status_counts()
        return status_line(StatusCounts(cameras, up, recording, self.storage.state, str(self.storage.path)))


def attach_appliance(config: Config, supervisor: Supervisor, recording: Recording, index: Index,
                     storage: StorageDir, disk_present: bool = True) -> Appliance:
    """Hot-plug watching (if configured; its `run` is the daemon's part) and the supervisor's view
    of recorders and status. `disk_present` False: the daemon started without its recording disk
    (vigil.app), which starts MISSING and gets a full crash recovery when it comes."""
    db_uuid = str(index.query("SELECT db_uuid FROM meta")[0][0])

    def gate(record: bool) -> None:
        for r in recording.recorders:
            (r.storage_ok.set if record else r.storage_ok.clear)()

    recovered = disk_present

    def recover_detached() -> None:
        """Segments the recorders let go of when the disk went: complete them from their fragments.
        A disk missing since start-up gets the start-up recovery instead (no recorder has written)."""
        nonlocal recovered
        if not recovered:
            try:
                report = recover(index, storage, time.time_ns())
            except IndexBusyError as busy:  # the next start recovers
                log.warning("recovering the returned disk: %s", busy)
            else:
                log.info("recording disk arrived; recovery: %s", report)
            recovered = True
            return
        writing = {r.open_segment_id for r in recording.recorders}
        try:
            for seg in index.segments(state="open"):
                if seg.dir_id == storage.id and seg.id not in writing:
                    recover_segment(index, storage, seg)
        except IndexBusyError as busy:  # they stay 'open'; the next start recovers them
            log.warning("recovering segments left open on the returned disk: %s", busy)

    cfg = config.storage
    watch = StorageWatch(storage.path, cfg.require_mount, db_uuid, storage.dir_uuid, gate, recover_detached,
                         StorageState.OK if disk_present else StorageState.MISSING)
    hotplug = Hotplug(watch, supervisor.refresh_status) if config.appliance.hotplug else None
    appliance = Appliance(recording, hotplug, watch)
    supervisor.watch(lambda: recorder_beats(recording.recorders), appliance.status)
    return appliance
