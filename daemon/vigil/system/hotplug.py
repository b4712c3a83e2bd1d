"""Hot-plug: the recording disk coming and going, USB/V4L2 cameras appearing.

A pyudev monitor thread hands events through a bounded queue to the event loop, which asks
core.hotplug what they mean. Every event about the recording disk (and a slow periodic check, so
nothing depends on udev alone) re-reads the disk's meta file; recorders write only while it is
this index's disk (StorageState.OK)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.core.errors import StorageError
from vigil.core.hotplug import (
    AvailableCamera,
    DeviceRole,
    StorageState,
    available_camera,
    device_role,
    read_error_means_missing,
    storage_change,
    storage_state,
)
from vigil.record.storage import MetaReadError, read_meta
from vigil.threads import run_in_thread

log = logging.getLogger(__name__)

QUEUE_EVENTS = 256
CHECK_INTERVAL_S = 10.0
BURST_CHECKS = 15  # after a disk event: re-check every second this many times (mounts are async)
SUBSYSTEMS = ("block", "video4linux")


@dataclass(frozen=True)
class DeviceEvent:
    action: str  # add, remove, change, ...
    subsystem: str
    sys_path: str
    device_node: str | None
    properties: dict[str, str]


class StorageWatch:
    """The recording directory's state; `on_change(record)` opens or closes the recorders' gate."""

    def __init__(self, path: Path, require_mount: bool, db_uuid: str, dir_uuid: str,
                 on_change: Callable[[bool], None], before_resume: Callable[[], None] = lambda: None,
                 state: StorageState = StorageState.OK) -> None:
        self.path = path
        self.require_mount = require_mount
        self.db_uuid = db_uuid
        self.dir_uuid = dir_uuid
        self.on_change = on_change
        self.before_resume = before_resume  # blocking: recover segments left open when the disk went
        self.state = state  # as verified at start-up (vigil.app): OK, or MISSING on an appliance

    def check(self) -> StorageState | None:
        """Read the meta file (blocking). None: the check could not be made (e.g. the process is out
        of file descriptors, EMFILE), which says nothing about the disk."""
        try:
            meta = read_meta(self.path) if self.path.is_dir() else None
        except MetaReadError as error:
            if not read_error_means_missing(error.errno):
                log.warning("cannot check the recording disk: %s; recording state stays %s", error,
                            self.state.value)
                return None
            meta = None
        except StorageError:  # a meta file without this appliance's uuids
            meta = None
        mounted = os.path.ismount(self.path) if self.require_mount else True
        return storage_state(meta, mounted, self.db_uuid, self.dir_uuid)

    def apply(self, new: StorageState) -> None:
        change = storage_change(self.state, new, str(self.path))
        if change is None:
            return
        self.state = new
        log.log(change.log_level, "%s", change.message)
        self.on_change(change.record)


def _event_of(device: Any) -> DeviceEvent:  # a pyudev.Device
    props = device.properties
    node = device.device_node
    return DeviceEvent(str(device.action or "add"), str(device.subsystem or ""), str(device.sys_path),
                       None if node is None else str(node), {str(k): str(props.get(k)) for k in props})


class Hotplug:
    def __init__(self, storage: StorageWatch, on_state: Callable[[], None]) -> None:
        self.storage = storage
        self.on_state = on_state
        self.cameras: dict[str, AvailableCamera] = {}
        self.queue: asyncio.Queue[DeviceEvent] = asyncio.Queue(QUEUE_EVENTS)
        self._overflowed = False
        self._stop = threading.Event()
        self._burst: asyncio.Task[None] | None = None
        self._tasks: asyncio.TaskGroup | None = None  # while watching: bursts run in it, not loose
        self._wake = asyncio.Event()  # a disk event during a burst: check now, not at its next tick
        self._checking = asyncio.Lock()  # one check (and one recovery) at a time

    def available_cameras(self) -> list[AvailableCamera]:
        return sorted(self.cameras.values(), key=lambda c: c.device_node)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            import pyudev

            context = pyudev.Context()
            monitor = pyudev.Monitor.from_netlink(context)
            for subsystem in SUBSYSTEMS:
                monitor.filter_by(subsystem)
            monitor.start()
            for device in context.list_devices(subsystem="video4linux"):
                self._on_camera(_event_of(device))
        except (ImportError, OSError) as error:
            log.warning("hot-plug: cannot watch udev (%s); checking the recording disk every %.0f s only",
                        error, CHECK_INTERVAL_S)
            await self._check_periodically()
            return
        try:
            async with asyncio.TaskGroup() as tg:
                self._tasks = tg
                tg.create_task(run_in_thread("udev-monitor", functools.partial(self._watch, monitor, loop)))
                tg.create_task(self._consume())
                tg.create_task(self._check_periodically())
        finally:
            self._tasks = None
            self._stop.set()
            # pyudev has no close(): the netlink socket closes when the last reference goes (the
            # watch thread's, within a second). A traceback keeping this frame must not keep it.
            del monitor, context

    def _watch(self, monitor: Any, loop: asyncio.AbstractEventLoop) -> None:
        """Thread body: udev events (a pyudev.Monitor) into the bounded queue until stopped."""
        while not self._stop.is_set():
            device = monitor.poll(timeout=1.0)
            if device is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed under us
                    loop.call_soon_threadsafe(self._offer, _event_of(device))

    def _offer(self, event: DeviceEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            if not self._overflowed:
                self._overflowed = True
                log.warning("hot-plug: udev event queue full; re-checking the recording disk")
            self._start_burst()

    async def _consume(self) -> None:
        while True:
            event = await self.queue.get()
            self._overflowed = False
            role = device_role(event.subsystem, event.properties)
            if role is DeviceRole.RECORDING_DISK:
                log.info("hot-plug: recording disk %s %s", event.device_node or event.sys_path, event.action)
                self._start_burst()
            elif event.subsystem == "video4linux":
                self._on_camera(event)

    def _on_camera(self, event: DeviceEvent) -> None:
        if event.action == "remove":
            gone = self.cameras.pop(event.sys_path, None)
            if gone is not None:
                log.info("hot-plug: local camera %s (%s) removed", gone.name, gone.device_node)
            return
        camera = available_camera(event.sys_path, event.device_node, event.properties)
        if camera is not None and event.sys_path not in self.cameras:
            self.cameras[event.sys_path] = camera
            log.info("hot-plug: local camera %s at %s available to add (recording it transcodes)",
                     camera.name, camera.device_node)

    def _start_burst(self) -> None:
        if self._burst is not None and not self._burst.done():
            self._wake.set()
            return
        if self._tasks is None:
            return
        burst = self._check_burst()
        try:
            self._burst = self._tasks.create_task(burst)
        except RuntimeError:  # the watch is shutting down
            burst.close()

    async def _check_burst(self) -> None:
        checks = 0
        while checks < BURST_CHECKS:
            self._wake.clear()
            await self._check()
            checks += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)
                checks = 0  # another disk event: a full burst from now

    async def _check_periodically(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL_S)
            await self._check()

    async def _check(self) -> None:
        async with self._checking:  # the periodic check and a burst must not both recover segments
            state = await asyncio.to_thread(self.storage.check)
            before = self.storage.state
            if state is None:  # inconclusive: keep recording as it was (warned in check)
                return
            if state is StorageState.OK and before is not StorageState.OK:
                await asyncio.to_thread(self.storage.before_resume)
            self.storage.apply(state)
        if state is not before:
            self.on_state()
