"""What the benchmarks share: CPU accounting from /proc, starting/stopping processes, a progress
log and a scratch directory."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

DAEMON_DIR = Path(__file__).resolve().parent.parent / "daemon"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims to (nothing recorded, a crash, ...)."""


def stat_fields(pid: int, task: str | None = None) -> list[str] | None:
    """Fields of /proc/PID/stat (or of its thread `task`'s stat) after the command name (index 0 =
    state), or None if gone."""
    try:
        text = Path(f"/proc/{pid}" if task is None else f"/proc/{pid}/task/{task}", "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rfind(")") + 2 :].split()


def process_tree(roots: Sequence[int]) -> list[int]:
    """The roots and all their live descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_ticks(roots: Sequence[int]) -> dict[int, int]:
    """utime + stime (all threads) of each process in the trees under `roots`, in clock ticks."""
    ticks: dict[int, int] = {}
    for pid in process_tree(roots):
        if (fields := stat_fields(pid)) is not None:
            ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def ticks_between(before: dict[int, int], after: dict[int, int]) -> int:
    """CPU ticks used between two snapshots (processes born in between count from zero)."""
    return sum(t - before.get(pid, 0) for pid, t in after.items())


def machine_busy_ticks() -> int:
    """Busy ticks of the whole machine (all cores), from the first line of /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = values[:7]
    return user + nice + system + irq + softirq


def child_env() -> dict[str, str]:
    """The environment for `python -m vigil...` children: the daemon's source on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(DAEMON_DIR), env.get("PYTHONPATH")]))
    return env


def stop(proc: subprocess.Popen[bytes], timeout_s: float) -> int:
    """SIGTERM, then wait; SIGKILL (and raise) if it does not exit in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise BenchError(f"pid {proc.pid} ({proc.args!r}) ignored SIGTERM for {timeout_s} s") from None


def log(message: str) -> None:
    """A timestamped progress line on stderr (figures go to stdout)."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def workdir(keep: bool, prefix: str = "vigil-bench-") -> Iterator[Path]:
    """A scratch directory, removed afterwards unless `keep` or the run failed (kept for a
    post-mortem: recordings and logs)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    ok = False
    try:
        yield path
        ok = True
    finally:
        if keep or not ok:
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


class SimCameras:
    """One `python -m vigil.sim.camera_server` (this tree's) serving the given `name=...` specs."""

    def __init__(self, specs: Sequence[str], log_path: Path) -> None:
        args = [sys.executable, "-m", "vigil.sim.camera_server", "--port", "0"]
        for spec in specs:
            args += ["--camera", spec]
        self.names = [spec.split(",")[0].removeprefix("name=") for spec in specs]
        self._log: IO[bytes] = log_path.open("wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._log, env=child_env())
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()  # blocks until READY or exit
        if not line.startswith("READY "):
            self.close()
            raise BenchError(f"camera server did not start ({line!r}): {log_path.read_text()[-2000:]}")
        self.port = int(line.split()[1])

    @classmethod
    def from_clip(cls, clip: Path, count: int, log_path: Path) -> SimCameras:
        """cam0..cam{count-1}, each replaying `clip`."""
        return cls([f"name=cam{i},file={clip}" for i in range(count)], log_path)

    def url(self, name: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{name}"

    @property
    def urls(self) -> list[str]:
        """Every camera's URL, in the order of the specs (from_clip's cam0, cam1, ...)."""
        return [self.url(n) for n in self.names]

    def close(self) -> None:
        try:
            stop(self.proc, 10)
        finally:
            self._log.close()
