"""A small real filesystem for disk-full tests: a tmpfs with `size=` in a private mount namespace.

A holder process (`unshare --mount`, then `sleep`) keeps the namespace alive; commands run in it
through `nsenter --target PID --mount` (the daemon, `vigil fsck`, ...), and the test reads and
writes the same files through /proc/PID/root, which shows the holder's view of the filesystem.
Nothing is mounted in the test's own namespace, so nothing is left behind if a test dies.
Needs root (the suite runs as root in a network namespace, see tests/e2e/system/test_journald_native.py)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

import pytest

needs_mount_namespace = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("nsenter") is None,
    reason="needs root, unshare and nsenter for a private tmpfs")

_HOLDER = 'mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" && echo ready && exec sleep 100000'


class SmallDisk:
    def __init__(self, mountpoint: Path, size_bytes: int) -> None:
        self.mountpoint = mountpoint
        self.size_bytes = size_bytes
        mountpoint.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", _HOLDER, "sh", str(mountpoint),
             str(size_bytes)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.close()
            why = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"cannot mount a tmpfs in a mount namespace: {why}")

    def path(self, inside: Path) -> Path:
        """Where the test sees `inside` (an absolute path as the commands in the namespace see it)."""
        return Path(f"/proc/{self.proc.pid}/root") / inside.relative_to("/")

    def command(self, *argv: str) -> list[str]:
        """`argv` run in the namespace (nsenter execs it: the process id is the command's own)."""
        return ["nsenter", f"--target={self.proc.pid}", "--mount", "--", *argv]

    def query(self, database: Path, sql: str) -> list[list[object]]:
        """Rows of a read-only SQL query on a SQLite file on this disk. Run inside the namespace:
        SQLite resolves symbolic links, so /proc/PID/root would lead it back to this namespace."""
        script = ("import json, sqlite3, sys; c = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True, timeout=10);"
                  " print(json.dumps(c.execute(sys.argv[2]).fetchall()))")
        out = subprocess.run(self.command(sys.executable, "-c", script, str(database), sql), capture_output=True,
                             text=True, check=True, timeout=60)
        return list(json.loads(out.stdout))

    def free_bytes(self) -> int:
        st = os.statvfs(self.path(self.mountpoint))
        return st.f_bavail * st.f_frsize

    def fill(self, name: str, leave_bytes: int = 0) -> int:
        """Write a file `name` on the disk until only about `leave_bytes` are free (0: until ENOSPC)."""
        block = b"\0" * (1 << 16)
        written = 0
        with self.path(self.mountpoint / name).open("ab", buffering=0) as f:
            while self.free_bytes() > leave_bytes:
                want = min(len(block), self.free_bytes() - leave_bytes) if leave_bytes else len(block)
                try:
                    written += f.write(block[:max(want, 1)]) or 0
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
        return written

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> SmallDisk:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
