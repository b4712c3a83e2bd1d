"""What a configuration reload changes for the cameras (design/cameras.md "Reload without loss").

Pure: two tuples of camera settings in (the running ones, the new ones), by id, out the ids to
start, to stop, to restart (stop then start) and to update in place. A camera whose settings
that ingest, recording or motion use are unchanged is never touched, so its segments keep being
cut where they would have been."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# What ingest (RTSP), the recorder and the motion worker are built from: a change restarts them.
RESTART_FIELDS = ("url", "substream_url", "username", "password", "transport", "timeout_s", "enabled", "motion",
                  "motion_sensitivity", "motion_mask", "record_audio", "ingest")
# What only the API, the web app and the intercom (opened per talk session) read: changed in place,
# no thread touched.
UPDATE_FIELDS = ("name", "building", "talk", "talk_url")


class CameraSettings(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def enabled(self) -> bool: ...


@dataclass(frozen=True)
class CameraChanges:
    added: tuple[str, ...]  # new ids (they start if enabled)
    removed: tuple[str, ...]  # ids gone (they stop if they ran)
    restarted: tuple[str, ...]  # ids whose ingest/recording/motion settings changed (stop if ran, start if enabled)
    updated: tuple[str, ...]  # ids whose name or building changed only
    unchanged: int

    @property
    def to_stop(self) -> tuple[str, ...]:
        """Ids whose pipeline (if running) must stop: removed and restarted."""
        return self.removed + self.restarted

    @property
    def to_start(self) -> tuple[str, ...]:
        """Ids whose pipeline must start (if the new setting is enabled): added and restarted."""
        return self.added + self.restarted

    @property
    def touched(self) -> bool:
        return bool(self.added or self.removed or self.restarted or self.updated)


def _differs(old: Any, new: Any, fields: Sequence[str]) -> bool:
    return any(getattr(old, name) != getattr(new, name) for name in fields)


def camera_changes(old: Sequence[CameraSettings], new: Sequence[CameraSettings]) -> CameraChanges:
    """The difference between the running cameras and the new ones, each list in the new file's order."""
    before = {c.id: c for c in old}
    after = {c.id: c for c in new}
    added = tuple(c.id for c in new if c.id not in before)
    removed = tuple(c.id for c in old if c.id not in after)
    restarted: list[str] = []
    updated: list[str] = []
    unchanged = 0
    for camera in new:
        previous = before.get(camera.id)
        if previous is None:
            continue
        if _differs(previous, camera, RESTART_FIELDS):
            restarted.append(camera.id)
        elif _differs(previous, camera, UPDATE_FIELDS):
            updated.append(camera.id)
        else:
            unchanged += 1
    return CameraChanges(added, removed, tuple(restarted), tuple(updated), unchanged)


@dataclass(frozen=True)
class ReloadResult:
    """What a reload did: the camera changes applied, and the other sections that changed in the
    file but wait for a daemon restart (not applied)."""

    changes: CameraChanges
    restart_needed: tuple[str, ...] = ()


def sections_needing_restart(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    """Names of sections (other than cameras and buildings) whose values differ, sorted."""
    names = (set(old) | set(new)) - {"cameras", "buildings", "source"}
    return tuple(sorted(name for name in names if old.get(name) != new.get(name)))
