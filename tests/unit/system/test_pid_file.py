"""`vigil.pid`: the running daemon is found by pid and start time, so a file left by a killed daemon
whose pid went to another process is refused rather than signalled (system/pid_file.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vigil.core.errors import VigilError
from vigil.system.pid_file import pid_path, remove_pid_file, running_pid, start_ticks, write_pid_file


def test_the_writer_is_found_and_its_file_removed(tmp_path: Path) -> None:
    path = pid_path(tmp_path)
    write_pid_file(path)
    assert running_pid(path) == os.getpid()
    remove_pid_file(path)
    assert not path.exists()


def test_a_pid_now_held_by_another_process_is_not_signalled(tmp_path: Path) -> None:
    """The file says this pid started at another time: the process holding it now is a stranger."""
    path = pid_path(tmp_path)
    ticks = start_ticks(os.getpid())
    assert ticks is not None
    path.write_text(f"{os.getpid()} {ticks - 1}\n", encoding="ascii")
    with pytest.raises(VigilError, match="now another process"):
        running_pid(path)
    remove_pid_file(path)  # it names this pid: removed (only the daemon itself calls this)


def test_a_pid_that_ended_is_said_so(tmp_path: Path) -> None:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    path = pid_path(tmp_path)
    path.write_text(f"{child.stdout.strip()} 1\n", encoding="ascii")
    with pytest.raises(VigilError, match="has ended"):
        running_pid(path)


def test_a_garbled_file_is_named(tmp_path: Path) -> None:
    path = pid_path(tmp_path)
    path.write_text("12345\n", encoding="ascii")  # no start time
    with pytest.raises(VigilError, match="cannot read"):
        running_pid(path)
