"""The recordings directory: its meta file, and the durable-write helpers.

A meta file in the recordings directory names the index (db uuid) and the directory (dir uuid)
it belongs to; the index remembers the same pair. A missing meta file where the index expects
one means the recording disk is not mounted; a different pair means a foreign disk. Either way
nothing is written there."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vigil.core.errors import StorageError
from vigil.core.json_text import parse_json

log = logging.getLogger(__name__)

META_NAME = "vigil-meta.json"
_IGNORABLE = {"lost+found"}


class MetaReadError(StorageError):
    """The meta file exists (or may) but could not be read: `errno` says why (EIO, EMFILE...)."""

    def __init__(self, message: str, error_number: int | None) -> None:
        super().__init__(message)
        self.errno = error_number


@dataclass(frozen=True)
class StorageDir:
    id: int
    path: Path
    dir_uuid: str


class StorageMissingError(StorageError):
    """The index knows this recordings directory (`storage`) but its disk is not there: no meta
    file, or not a mount point with storage.require_mount. An appliance waits for it."""

    def __init__(self, message: str, storage: StorageDir) -> None:
        super().__init__(message)
        self.storage = storage


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs_durably(directory: Path, root: Path) -> None:
    """mkdir -p below `root`, fsyncing each parent whose entry list changed, so new dirs survive
    power loss."""
    missing = []
    d = directory
    while not d.exists() and d != root:
        missing.append(d)
        d = d.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        fsync_dir(new.parent)


def create_new_file(path: Path, data: bytes, mode: int = 0o600,
                    before_link: Callable[[Path], None] | None = None) -> bool:
    """Write `path` unless it exists (True: this call made it). Written to a temporary file, fsynced
    and linked into place, so a crash never leaves a partial file and an existing one (made
    meanwhile by another process, too) is never overwritten. `before_link` (e.g. a chown) runs on
    the temporary file, so the file never appears with the wrong owner."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)  # whatever the umask
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if before_link is not None:
            before_link(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` atomically with `data`, `mode` whatever the umask: temp file, fsync, rename,
    fsync dir. A reader meanwhile sees the old content or the new, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def read_meta(recordings: Path) -> dict[str, str] | None:
    try:
        raw = parse_json((recordings / META_NAME).read_text(encoding="utf-8"))  # a disk from outside: bounded
    except FileNotFoundError:
        return None
    except OSError as error:
        raise MetaReadError(f"{recordings / META_NAME}: unreadable meta file ({error.strerror})", error.errno) from None
    except ValueError as error:
        raise StorageError(f"{recordings / META_NAME}: unreadable meta file ({error})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("db_uuid"), str) or not isinstance(raw.get("dir_uuid"), str):
        raise StorageError(f"{recordings / META_NAME}: meta file without db_uuid/dir_uuid")
    return {"db_uuid": raw["db_uuid"], "dir_uuid": raw["dir_uuid"]}


def open_storage_dir(conn: sqlite3.Connection, recordings: Path, *, require_mount: bool) -> StorageDir:
    """Verify (or, for a new index and an empty directory, initialize) the recordings dir."""
    db_uuid = str(conn.execute("SELECT db_uuid FROM meta").fetchone()[0])
    row = conn.execute("SELECT id, dir_uuid FROM storage_dir WHERE path = ?", (str(recordings),)).fetchone()
    known = None if row is None else StorageDir(id=int(row["id"]), path=recordings, dir_uuid=str(row["dir_uuid"]))
    if require_mount and not os.path.ismount(recordings):
        message = f"{recordings}: not a mount point and storage.require_mount is set; is the recording disk attached?"
        if known is not None:
            raise StorageMissingError(message, known)
        raise StorageError(message)
    meta = read_meta(recordings) if recordings.is_dir() else None
    if known is not None:
        if meta is None:
            raise StorageMissingError(
                f"{recordings}: the recording disk is missing or not mounted (no {META_NAME}); refusing to record",
                known)
        if meta["db_uuid"] != db_uuid or meta["dir_uuid"] != known.dir_uuid:
            raise StorageError(
                f"{recordings}: this disk belongs to another vigil index (db {meta['db_uuid']}, "
                f"dir {meta['dir_uuid']}); refusing to record onto it"
            )
        return known
    if meta is not None:
        raise StorageError(
            f"{recordings}: holds recordings of another vigil index (db {meta['db_uuid']}); refusing to adopt it"
        )
    if recordings.is_dir() and {p.name for p in recordings.iterdir()} - _IGNORABLE:
        raise StorageError(f"{recordings}: not empty and has no {META_NAME}; refusing to record into it")
    recordings.mkdir(parents=True, exist_ok=True)
    dir_uuid = str(uuid.uuid4())
    write_durably(recordings / META_NAME, json.dumps({"format": 1, "db_uuid": db_uuid, "dir_uuid": dir_uuid}).encode())
    cur = conn.execute("INSERT INTO storage_dir (path, dir_uuid) VALUES (?, ?)", (str(recordings), dir_uuid))
    log.info("initialized recordings directory %s (dir %s)", recordings, dir_uuid)
    return StorageDir(id=int(cur.lastrowid or 0), path=recordings, dir_uuid=dir_uuid)
