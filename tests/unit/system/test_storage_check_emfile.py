"""The storage watcher under a real descriptor shortage: reading the meta file fails with EMFILE,
which says nothing about the disk, so recording must not stop as "RECORDING DISK MISSING"."""

from __future__ import annotations

import errno
import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vigil.core.hotplug import StorageState
from vigil.record.storage import META_NAME
from vigil.system.hotplug import StorageWatch


@contextmanager
def out_of_descriptors() -> Iterator[None]:
    """Every descriptor this process may have is in use until the block ends (lowered soft limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held: list[int] = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, len(list(Path("/proc/self/fd").iterdir())) + 16), hard))
    try:
        while True:
            try:
                held.append(os.open("/dev/null", os.O_RDONLY))
            except OSError as error:
                assert error.errno == errno.EMFILE
                break
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _watch(path: Path, changes: list[bool]) -> StorageWatch:
    (path / META_NAME).write_text('{"format": 1, "db_uuid": "db-1", "dir_uuid": "dir-1"}')
    return StorageWatch(path, False, "db-1", "dir-1", changes.append)


def test_emfile_is_not_a_missing_disk(tmp_path: Path) -> None:
    changes: list[bool] = []
    watch = _watch(tmp_path, changes)
    assert watch.check() is StorageState.OK
    with out_of_descriptors():
        during = watch.check()
    assert during is None  # inconclusive, not StorageState.MISSING
    assert watch.check() is StorageState.OK and changes == [] and watch.state is StorageState.OK


def test_a_missing_meta_file_still_is_missing(tmp_path: Path) -> None:
    """The check above can tell: an absent meta file, with or without spare descriptors, is MISSING."""
    watch = _watch(tmp_path, [])
    (tmp_path / META_NAME).unlink()
    assert watch.check() is StorageState.MISSING
