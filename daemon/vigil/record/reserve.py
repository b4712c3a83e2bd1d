"""Room kept for the index on a full disk: a reserve file beside it, given up when the disk fills.

When evidence holds pin the recordings and the disk fills, the cameras pause (core/write_failure.py)
and the admin must release a hold, which the index records (with its audit entry): SQLite needs a
few pages for that, and a full disk may have none. So the daemon keeps `RESERVE_BYTES` in a file
next to the index (`<storage.path>/.vigil-reserve`), deletes it as soon as a recorder pauses with
`disk_full`, and makes it again once no camera is paused and the disk has room for it. The
recorders, retention, the storage warnings and the storage report count a missing reserve as used
space on its disk (`recordings_free_bytes`), so the recorders never resume into it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from vigil.record.storage import fsync_dir

log = logging.getLogger(__name__)

RESERVE_NAME = ".vigil-reserve"
RESERVE_BYTES = 8 << 20


class SpaceReserve:
    def __init__(self, directory: Path, size_bytes: int = RESERVE_BYTES) -> None:
        self.path = directory / RESERVE_NAME
        self.size_bytes = size_bytes

    @property
    def missing_bytes(self) -> int:
        """What the recorders must leave free before they resume (0 while the reserve is there)."""
        try:
            return max(self.size_bytes - self.path.stat().st_size, 0)
        except OSError:
            return self.size_bytes

    def give_up(self) -> bool:
        """Delete the reserve (blocking); True if that freed anything."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        fsync_dir(self.path.parent)
        log.warning("disk full: gave up the %d MiB reserve beside the index so it can record an admin's changes"
                    " (release evidence holds to make room)", self.size_bytes >> 20)
        return True

    def ensure(self, free_bytes: int) -> None:
        """Make the reserve if it is missing and the disk has room for it twice over (blocking)."""
        if not self.missing_bytes or free_bytes < 2 * self.size_bytes:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.size_bytes)  # real blocks, not a sparse file
                os.fsync(fd)
            finally:
                os.close(fd)
            tmp.replace(self.path)
            fsync_dir(self.path.parent)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            log.warning("cannot make the %d MiB reserve %s (%s)", self.size_bytes >> 20, self.path, error)


def recordings_free_bytes(disk_free_bytes: int, recordings_path: Path, reserve: SpaceReserve | None) -> int:
    """What recordings may use of `disk_free_bytes`, the free space of the disk `recordings_path` is
    on: less what the index's reserve is missing while given up, when the reserve is on that same
    disk (on another disk it takes nothing from them). Negative when the reserve's room is not
    even free: that much more is to be freed before it can be made again. Blocking (stat)."""
    missing = 0 if reserve is None else reserve.missing_bytes
    if not missing:
        return disk_free_bytes
    try:
        same_disk = reserve is not None and reserve.path.parent.stat().st_dev == recordings_path.stat().st_dev
    except OSError:  # either is gone (a disk unplugged, a first start): nothing to count against
        return disk_free_bytes
    return disk_free_bytes - missing if same_disk else disk_free_bytes
