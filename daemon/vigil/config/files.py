"""The configuration file on disk: whether the daemon may write it, one writer at a time, and the
atomic replacement (design/cameras.md "Invariants").

A write replaces the file whole: a temp file in the same directory (so the rename cannot cross
file systems), fsync, rename over the file, fsync of the directory; mode 0600 because the file
holds camera passwords. Writers take an fcntl lock on `<config>.lock` beside it, so an API edit
and `vigil` commands never interleave, and each edit starts from the text read under the lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vigil.core.errors import ConfigError, ConfigNotWritableError

FILE_MODE = 0o600


class ConfigFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def not_writable_reason(self) -> str | None:
        """Why the daemon cannot replace the file (None if it can)."""
        directory = self.path.parent
        if not self.path.exists():
            return f"{self.path} does not exist"
        # No write bit for anyone: the operator marked it read-only (root's access() ignores modes).
        if not os.access(self.path, os.W_OK) or not self.path.stat().st_mode & 0o222:
            return f"{self.path} is read-only (a hand-managed configuration)"
        if not os.access(directory, os.W_OK | os.X_OK):
            return f"{directory} is not writable by the daemon: the file cannot be replaced atomically"
        return None

    def require_writable(self) -> None:
        reason = self.not_writable_reason()
        if reason is not None:
            raise ConfigNotWritableError(f"the configuration cannot be changed here: {reason}")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """The writers' lock (blocking: call on a thread)."""
        self.require_writable()
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        except OSError as error:
            raise ConfigNotWritableError(f"cannot lock {self.lock_path}: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{self.path}: cannot read configuration: {error.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{self.path}: not UTF-8 text") from None

    def replace(self, text: str) -> None:
        """Replace the file's content atomically (temp, fsync, rename, fsync dir), mode 0600."""
        directory = self.path.parent
        fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            Path(temp).replace(self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                Path(temp).unlink()
            raise
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
