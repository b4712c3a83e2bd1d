"""The running daemon's configuration: one holder, swapped whole by a reload (design/cameras.md).

Everything that must see reloaded cameras and buildings reads `LiveConfig.current` (through
`ServiceEnv.config` and `Services.config`) at the time it needs it instead of keeping the value it
was started with. `apply` is the one way a new configuration takes effect: the camera changes
are decided (core.camera_changes), handed to the cameras' applier (the pipelines, in the daemon),
and the holder swapped; sections other than cameras and buildings that differ are reported as
needing a restart and keep their running values."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from vigil.config.model import Config
from vigil.core.camera_changes import CameraChanges, ReloadResult, camera_changes, sections_needing_restart

log = logging.getLogger(__name__)

# What applies camera changes to the running pipelines: (changes, the new configuration).
CameraApplier = Callable[[CameraChanges, Config], Awaitable[None]]


def _sections(config: Config) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


class LiveConfig:
    def __init__(self, config: Config) -> None:
        self._current = config
        self._lock: asyncio.Lock | None = None  # made on the loop that first applies
        self._edits: asyncio.Lock | None = None
        self.cameras: CameraApplier | None = None  # set by the daemon once the pipelines exist
        self.on_applied: list[Callable[[Config], None]] = []  # e.g. the log scrubber learns new passwords

    @property
    def current(self) -> Config:
        return self._current

    def editing(self) -> asyncio.Lock:
        """Held by a change from its write to its apply (services/camera_config.py), so changes
        are applied in the order they were written."""
        if self._edits is None:
            self._edits = asyncio.Lock()
        return self._edits

    def swap(self, new: Config) -> None:
        """Take `new` whole, with no camera applier asked (tests; the daemon uses `apply`)."""
        self._current = new

    def result_of(self, new: Config) -> ReloadResult:
        """What applying `new` would do (nothing is changed)."""
        old = self._current
        return ReloadResult(camera_changes(old.cameras, new.cameras),
                            sections_needing_restart(_sections(old), _sections(new)))

    async def apply(self, new: Config) -> ReloadResult:
        """Apply the cameras and buildings of `new` (one reload at a time); other changed sections
        are logged and reported in `restart_needed`, not applied."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            result = self.result_of(new)
            if self.cameras is not None and result.changes.touched:
                await self.cameras(result.changes, new)
            self._current = dataclasses.replace(self._current, source=new.source, cameras=new.cameras,
                                                buildings=new.buildings)
            for hook in self.on_applied:
                hook(self._current)
            c = result.changes
            log.info("configuration applied: %d added, %d removed, %d restarted, %d updated, %d unchanged",
                     len(c.added), len(c.removed), len(c.restarted), len(c.updated), c.unchanged)
            if result.restart_needed:
                log.warning("configuration: %s changed; restart vigil to apply (not applied)",
                            ", ".join(result.restart_needed))
            return result
