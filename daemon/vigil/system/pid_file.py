"""`<storage.path>/vigil.pid`: written by the running daemon, removed at its stop, read by
`vigil reload` to know whom to send SIGHUP (design/cameras.md)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from vigil.core.errors import VigilError

PID_FILE = "vigil.pid"


def pid_path(storage_path: Path) -> Path:
    return storage_path / PID_FILE


def write_pid_file(path: Path) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(f"{os.getpid()}\n", encoding="ascii")
    temp.replace(path)


def remove_pid_file(path: Path) -> None:
    """Only if it still names this process (a newer daemon's file is left alone)."""
    with contextlib.suppress(OSError, ValueError):
        if int(path.read_text(encoding="ascii").strip()) == os.getpid():
            path.unlink()


def running_pid(path: Path) -> int:
    """The pid of the daemon running on this storage, or a VigilError saying why there is none."""
    try:
        pid = int(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        raise VigilError(f"no vigil daemon is running here ({path} does not exist)") from None
    except (OSError, ValueError) as error:
        raise VigilError(f"cannot read {path}: {error}") from None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise VigilError(f"no vigil daemon is running here ({path} names pid {pid}, which has ended)") from None
    except PermissionError:
        pass  # it runs, as another user: signalling it will say whether we may
    return pid
