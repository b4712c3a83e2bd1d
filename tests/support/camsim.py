"""Test helper: run ``vigil.sim.camera_server`` (simulated RTSP cameras) as a subprocess."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

REPO = Path(__file__).resolve().parents[2]
DAEMON_DIR = REPO / "daemon"

if str(DAEMON_DIR) not in sys.path:  # tests import vigil.sim.clips in-process too
    sys.path.insert(0, str(DAEMON_DIR))


class CameraServerError(RuntimeError):
    """The camera server did not come up."""


class CameraServer:
    """Simulated cameras in a child process, one mount per SPEC (see ``vigil.sim.camera_server``).

    ``start()`` after ``stop()`` restarts on the same port, so a recorder can reconnect;
    ``pause()``/``resume()`` freeze the process (TCP connections stay open, no data flows).
    """

    def __init__(self, *specs: str, port: int = 0, bind: str = "127.0.0.1", ready_timeout: float = 10.0) -> None:
        if not specs:
            raise ValueError("at least one camera spec is needed")
        self.specs = specs
        self.port = port
        self.bind = bind
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def url(self, name: str) -> str:
        """``rtsp://`` URL of camera ``name``."""
        return f"rtsp://{self.bind}:{self.port}/{name}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> CameraServer:
        """Start the server (on the remembered port after the first start) and wait for READY."""
        if self.running:
            raise CameraServerError("camera server already running")
        cmd = [sys.executable, "-m", "vigil.sim.camera_server", "--port", str(self.port)]
        cmd += ["--bind", self.bind]
        for spec in self.specs:
            cmd += ["--camera", spec]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(DAEMON_DIR), env.get("PYTHONPATH")]))
        self._stderr = tempfile.NamedTemporaryFile(prefix="camsim-", suffix=".log")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, env=env)
        line = self._read_line(self.ready_timeout)
        if not line.startswith("READY "):
            stderr = self.stderr
            self.stop()
            raise CameraServerError(f"camera server not ready ({line or 'no output'}); stderr:\n{stderr}")
        self.port = int(line.split()[1])
        return self

    def _read_line(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        deadline, data = time.monotonic() + timeout, b""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while b"\n" not in data and (left := deadline - time.monotonic()) > 0:
                if sel.select(left):
                    chunk = os.read(self.proc.stdout.fileno(), 256)
                    if not chunk:  # exited
                        break
                    data += chunk
        return data.decode(errors="replace").strip()

    @property
    def stderr(self) -> str:
        """What the server wrote to stderr so far (for error messages)."""
        if self._stderr is None:
            return ""
        return Path(self._stderr.name).read_text(errors="replace").strip()

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (then SIGKILL after ``timeout``) and wait; a no-op when not running."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
                proc.terminate()
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def pause(self) -> None:
        """Freeze the cameras (SIGSTOP): connections stay open but go silent."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo :meth:`pause` (SIGCONT)."""
        self._signal(signal.SIGCONT)

    def _signal(self, signum: signal.Signals) -> None:
        if not self.running:
            raise CameraServerError("camera server not running")
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signum)

    def __enter__(self) -> CameraServer:
        return self if self.running else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


CameraServerFactory = Callable[..., CameraServer]
"""Type of the ``camera_server`` fixture: ``(*specs, port=0, bind=...) -> started CameraServer``."""
