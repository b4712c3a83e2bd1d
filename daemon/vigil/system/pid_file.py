"""`<storage.path>/vigil.pid`: written by the running daemon, removed at its stop, read by
`vigil reload` to know whom to send SIGHUP (design/cameras.md).

The file holds the pid and the process's start time (/proc/PID/stat, clock ticks since boot): a
daemon killed without removing its file leaves a pid the system may give to another process, and
the start time tells them apart, so `vigil reload` never signals a stranger."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from vigil.core.errors import VigilError

PID_FILE = "vigil.pid"


def pid_path(storage_path: Path) -> Path:
    return storage_path / PID_FILE


def start_ticks(pid: int) -> int | None:
    """When process `pid` started (field 22 of /proc/PID/stat), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[19])  # after "pid (comm)": field 3 onwards


def write_pid_file(path: Path) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(f"{os.getpid()} {start_ticks(os.getpid())}\n", encoding="ascii")
    temp.replace(path)


def _read(path: Path) -> tuple[int, int]:
    pid, ticks = path.read_text(encoding="ascii").split()
    return int(pid), int(ticks)


def remove_pid_file(path: Path) -> None:
    """Only if it still names this process (a newer daemon's file is left alone)."""
    with contextlib.suppress(OSError, ValueError):
        if _read(path)[0] == os.getpid():
            path.unlink()


def running_pid(path: Path) -> int:
    """The pid of the daemon running on this storage, or a VigilError saying why there is none."""
    try:
        pid, ticks = _read(path)
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
    if start_ticks(pid) != ticks:
        raise VigilError(f"no vigil daemon is running here ({path} names pid {pid}, now another process: the"
                         " daemon ended without removing the file)")
    return pid
