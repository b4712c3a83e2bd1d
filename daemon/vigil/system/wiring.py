"""The appliance parts of the daemon, wired by app.Daemon with a line each: systemd supervision
and hot-plug. Kept here so that app.py stays about recording."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from vigil.core.errors import IndexBusyError
from vigil.core.hotplug import AvailableCamera, StorageState
from vigil.core.watchdog import StatusCounts, status_line
from vigil.record.recovery import recover_segment
from vigil.record.storage import StorageDir
from vigil.store.index import Index
from vigil.system.hotplug import Hotplug, StorageWatch
from vigil.system.supervision import recorder_beats

if TYPE_CHECKING:
    from vigil.app import Daemon

log = logging.getLogger(__name__)


class Appliance:
    """What the API asks about the appliance (api.context.ApplianceSource)."""

    def __init__(self, daemon: Daemon, hotplug: Hotplug | None, storage: StorageWatch) -> None:
        self.daemon = daemon
        self.hotplug = hotplug
        self.storage = storage

    def storage_state(self) -> StorageState:
        return self.storage.state

    def available_cameras(self) -> list[AvailableCamera]:
        return [] if self.hotplug is None else self.hotplug.available_cameras()

    def status(self) -> str:
        d = self.daemon
        states = [d.camera_status(p.camera.id) for p in d.pipelines]
        return status_line(StatusCounts(len(states), sum(s.state == "up" for s in states),
                                        sum(s.recording for s in states), self.storage.state,
                                        str(self.storage.path)))


def attach_appliance(daemon: Daemon, index: Index, storage: StorageDir) -> Appliance:
    """Hot-plug watching (if configured) and the supervisor's view of recorders and status."""
    db_uuid = str(index.query("SELECT db_uuid FROM meta")[0][0])

    def gate(record: bool) -> None:
        for p in daemon.pipelines:
            (p.recorder.storage_ok.set if record else p.recorder.storage_ok.clear)()

    def recover_detached() -> None:
        """Segments the recorders let go of when the disk went: complete them from their fragments."""
        writing = {p.recorder.open_segment_id for p in daemon.pipelines}
        try:
            for seg in index.segments(state="open"):
                if seg.dir_id == storage.id and seg.id not in writing:
                    recover_segment(index, storage, seg)
        except IndexBusyError as busy:  # they stay 'open'; the next start recovers them
            log.warning("recovering segments left open on the returned disk: %s", busy)

    cfg = daemon.config.storage
    watch = StorageWatch(storage.path, cfg.require_mount, db_uuid, storage.dir_uuid, gate, recover_detached)
    hotplug = Hotplug(watch, daemon.supervisor.refresh_status) if daemon.config.appliance.hotplug else None
    appliance = Appliance(daemon, hotplug, watch)
    daemon.supervisor.watch(lambda: recorder_beats(p.recorder for p in daemon.pipelines), appliance.status)
    return appliance
