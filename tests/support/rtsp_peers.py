"""RTSP servers other than our GStreamer sim camera, as interop peers (design/ingest.md, "Interop matrix").

* :class:`VlcServer`: VLC's RTSP output, ``cvlc CLIP --sout '#rtp{sdp=rtsp://...}'``, replaying a
  clip in a loop. VLC refuses to run as root, so as root it runs as ``nobody`` (``setpriv``; the
  clip is copied where ``nobody`` can read it). It serves RTP over UDP only: a SETUP asking for
  ``RTP/AVP/TCP`` gets ``461 Unsupported transport``.
* :class:`FfmpegRtpServer`: FFmpeg's RTP packetizer (``ffmpeg -re -stream_loop -1 -i CLIP -c copy
  -f rtp``) behind GStreamer's RTSP server, which passes its packets on untouched
  (tests/support/rtp_relay_server.py). FFmpeg cannot serve RTSP itself: ``-rtsp_flags listen`` is
  an option of its RTSP *demuxer* (a client pushing with RECORD); the muxer always connects out.

:func:`make_clip` makes the small clips both replay: ffmpeg ``testsrc``, no B-frames, a 1 s GOP,
parameter sets in band before every keyframe (``repeat-headers``: the relay's SDP has none).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[2]


class PeerError(RuntimeError):
    """A peer did not come up."""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_clip(path: Path, codec: str = "h264", seconds: float = 4.0, width: int = 320, height: int = 240,
              fps: int = 15, aac: bool = False) -> Path:
    """An mp4 of ``testsrc`` in H.264 or H.265, no B-frames, GOP = fps, parameter sets before every IDR;
    with ``aac``, also a 440 Hz tone in AAC (48 kHz mono)."""
    encoder = {"h264": ["-c:v", "libx264", "-x264-params", "repeat-headers=1"],
               "h265": ["-c:v", "libx265", "-x265-params", "repeat-headers=1:bframes=0:log-level=error",
                        "-tag:v", "hvc1"]}[codec]
    audio = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] if aac else []
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
           f"testsrc=size={width}x{height}:rate={fps}", *audio, "-t", str(seconds), *encoder, "-g", str(fps),
           "-bf", "0", "-pix_fmt", "yuv420p", *(["-c:a", "aac", "-ac", "1"] if aac else []), str(path)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PeerError(f"ffmpeg could not make {path}: {result.stderr.strip()}")
    return path


def rtsp_status(url: str, method: str = "DESCRIBE", timeout_s: float = 2.0) -> int | None:
    """The status code of one bare RTSP request (None when nothing answers)."""
    host_port = url.split("/")[2]
    host, port = host_port.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as s:
            s.sendall(f"{method} {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n".encode())
            head = s.recv(4096).decode(errors="replace").split("\r\n", 1)[0].split()
    except OSError:
        return None
    return int(head[1]) if len(head) >= 2 and head[0] == "RTSP/1.0" and head[1].isdigit() else None


def _wait_describe(url: str, procs: list[subprocess.Popen[bytes]], timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise PeerError(f"peer exited with {p.returncode}: {log.read_text(errors='replace')[-2000:]}")
        if rtsp_status(url) == 200:
            return
        time.sleep(0.1)
    raise PeerError(f"{url}: no 200 to DESCRIBE after {timeout_s} s: {log.read_text(errors='replace')[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Peer:
    url: str

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.dir = Path(tempfile.mkdtemp(prefix="vigil-peer-"))
        self.log = self.dir / "peer.log"

    def close(self) -> None:
        for p in reversed(self.procs):
            _stop(p)
        self.procs = []
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> _Peer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class VlcServer(_Peer):
    """``cvlc`` serving ``clip`` in a loop at ``rtsp://127.0.0.1:PORT/x`` (UDP only); its audio too
    with ``audio`` (VLC sends AAC as ``mpeg4-generic``, AAC-hbr)."""

    def __init__(self, clip: Path, ready_timeout_s: float = 20.0, audio: bool = False) -> None:
        super().__init__()
        try:
            self._start(clip, ready_timeout_s, audio)
        except BaseException:
            self.close()
            raise

    def _start(self, clip: Path, ready_timeout_s: float, audio: bool) -> None:
        port = free_port()
        self.url = f"rtsp://127.0.0.1:{port}/x"
        self.dir.chmod(0o755)  # nobody reads the clip from here and writes its HOME in it
        home = self.dir / "home"
        home.mkdir()
        served = self.dir / clip.name
        shutil.copyfile(clip, served)
        served.chmod(0o644)
        cmd = ["cvlc", "-I", "dummy", *([] if audio else ["--no-audio"]), "--loop", "--rtsp-host", "127.0.0.1",
               str(served),
               "--sout", f"#rtp{{sdp=rtsp://127.0.0.1:{port}/x}}"]
        if os.geteuid() == 0:  # "VLC is not supposed to be run as root. Sorry."
            shutil.chown(home, "nobody")
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
        with self.log.open("wb") as log:
            self.procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env))
        _wait_describe(self.url, self.procs, ready_timeout_s, self.log)


class FfmpegRtpServer(_Peer):
    """FFmpeg packetizing ``clip`` (``-f rtp``), served untouched by GStreamer's RTSP server."""

    def __init__(self, clip: Path, codec: str = "h264", ready_timeout_s: float = 20.0) -> None:
        encoding = {"h264": "H264", "h265": "H265"}[codec]
        super().__init__()
        try:
            self._start(clip, encoding, ready_timeout_s)
        except BaseException:
            self.close()
            raise

    def _start(self, clip: Path, encoding: str, ready_timeout_s: float) -> None:
        rtp_port = free_port(socket.SOCK_DGRAM)
        with self.log.open("wb") as log:
            relay = subprocess.Popen(
                [sys.executable, str(REPO / "tests" / "support" / "rtp_relay_server.py"), "--port", "0",
                 "--rtp-port", str(rtp_port), "--encoding", encoding],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
            self.procs.append(relay)
            assert relay.stdout is not None
            line = relay.stdout.readline().decode().strip()
            relay.stdout.close()
            if not line.startswith("READY "):
                raise PeerError(f"rtp relay server did not start: {line!r}")
            self.url = f"rtsp://127.0.0.1:{int(line.split()[1])}/x"
            self.procs.append(subprocess.Popen(
                ["ffmpeg", "-nostdin", "-v", "error", "-re", "-stream_loop", "-1", "-i", str(clip), "-c", "copy",
                 "-f", "rtp", f"rtp://127.0.0.1:{rtp_port}?pkt_size=1200"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log))
        _wait_describe(self.url, self.procs, ready_timeout_s, self.log)
