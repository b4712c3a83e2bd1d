"""Recording CPU cost: the vigil daemon against one `ffmpeg -c copy` per camera, in the same run.

    .venv/bin/python bench/record.py [--cameras 1,8,32] [--seconds 60] [--repeats 3] [--ingest ffmpeg,native]

For each camera count N, one simulated camera server (GStreamer RTSP, replaying a pre-encoded
1080p15 ~4 Mb/s H.264 clip with a 1 s GOP, so the cameras themselves are cheap) serves N
cameras. Then, one after the other (never concurrently: the two sides must not fight for the
cores), alternating which goes first:

* vigil: ``python -m vigil run --config FILE`` recording the N cameras, once per ``--ingest``
  (``ingest = "ffmpeg"``: FFmpeg's RTSP demuxer through PyAV; ``"native"``: Vigil's own RTSP/RTP
  client, issue 19), each a side of its own;
* ffmpeg: N processes ``ffmpeg -rtsp_transport tcp -i URL -c copy -f segment ...``.

Each side is given a warm-up once every camera has a non-empty file, then its CPU time
(utime + stime from /proc/PID/stat, all threads, summed over the side's processes and their
descendants) is taken over ``--seconds`` of wall time. Then it is stopped with SIGTERM and
checked: vigil must exit 0 and ``vigil segments --json`` must list a non-empty segment for every
camera; ffmpeg must leave a non-empty file per camera. A side that records nothing fails the run.

Reported per N and vigil ingest (medians over the repeats): CPU seconds per stream-minute, vigil's
CPU as % of one core, the vigil/ffmpeg ratio (median of the per-repeat ratios: each repeat pairs two adjacent
windows), the camera server's CPU, the load on the machine not explained by either (noise), and
the bytes each side wrote during the window (both should be the stream's bit rate).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
DAEMON_DIR = ROOT / "daemon"
sys.path.insert(0, str(DAEMON_DIR))

from procstat import (  # noqa: E402 (bench/ is the script's directory)
    CLK_TCK,
    BenchError,
    SimCameras,
    child_env,
    cpu_ticks,
    log,
    machine_busy_ticks,
    stop,
    ticks_between,
    workdir,
)
from vigil.sim.clips import make_h264_clip  # noqa: E402

CLIP_SECONDS = 10.0
FPS = 15
BITRATE_KBPS = 4000
SEGMENT_S = 60
STUCK_S = 15.0  # an ffmpeg without data after this long is relaunched (see wait_recording)
# Issue targets.
MAX_RATIO = 1.2
MAX_RATIO_NATIVE = 1.0  # issue 19: the native ingest no longer pays for a general demuxer
MAX_CORE_PCT_AT_32 = 30.0


# --------------------------------------------------------------------------------------------
# /proc accounting and processes: bench/procstat.py


def dir_bytes(path: Path) -> int:
    total = 0
    for f in path.rglob("*"):
        with contextlib.suppress(FileNotFoundError):
            if f.is_file():
                total += f.stat().st_size
    return total


# --------------------------------------------------------------------------------------------
# processes


@dataclass
class Side:
    """One recorder under test: its processes, where it writes, and how to check and stop it."""

    name: str
    procs: list[subprocess.Popen[bytes]]
    out_dir: Path
    logs: list[IO[bytes]] = field(default_factory=list)
    # ffmpeg only: relaunch camera i (it has no reconnect of its own; vigil reconnects by itself).
    restart: Callable[[int], None] | None = None
    restarts: int = 0

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def check_alive(self) -> None:
        for i, p in enumerate(self.procs):
            if p.poll() is not None:
                raise BenchError(f"{self.name}: pid {p.pid} exited early with {p.returncode}; "
                                 f"log tail:\n{self.log_tail(i)}")

    def log_tail(self, i: int = 0, chars: int = 3000) -> str:
        if i >= len(self.logs):
            return ""
        self.logs[i].flush()
        return Path(self.logs[i].name).read_text(errors="replace")[-chars:]

    def close_logs(self) -> None:
        for f in self.logs:
            f.close()


def start_vigil(work: Path, urls: list[str], ingest: str) -> tuple[Side, Path]:
    data = work / "data"
    lines = [
        "[storage]", f'path = "{data}"', "min_free_bytes = 0", f"segment_duration_s = {SEGMENT_S}",
        "", "[[buildings]]", 'id = "bench"', 'name = "Bench"',
    ]
    for i, url in enumerate(urls):
        # Recording alone (motion analysis is measured by bench/motion.py).
        lines += ["", "[[cameras]]", f'id = "cam{i}"', 'building = "bench"', f'url = "{url}"', 'motion = "off"',
                  f'ingest = "{ingest}"']
    config = work / "vigil.toml"
    config.write_text("\n".join(lines) + "\n")
    log = (work / "vigil.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "vigil", "run", "--config", str(config)],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=child_env())
    return Side(f"vigil:{ingest}", [proc], data / "recordings", [log]), config


def start_ffmpeg(work: Path, urls: list[str]) -> Side:
    out = work / "ffmpeg"
    out.mkdir()
    side = Side("ffmpeg", [], out)

    def launch(i: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", urls[i], "-c", "copy",
             "-f", "segment", "-segment_time", str(SEGMENT_S), "-reset_timestamps", "1",
             str(out / f"cam{i}-%05d.mp4")],
            stdin=subprocess.DEVNULL, stdout=side.logs[i], stderr=side.logs[i])

    def restart(i: int) -> None:
        old = side.procs[i]
        old.kill()
        old.wait(10)
        side.procs[i] = launch(i)
        side.restarts += 1

    for i in range(len(urls)):
        side.logs.append((work / f"ffmpeg-cam{i}.log").open("wb"))
        side.procs.append(launch(i))
    side.restart = restart
    return side


def cameras_with_data(side: Side, count: int) -> set[str]:
    """Names camI of the cameras that have at least one non-empty file so far."""
    seen: set[str] = set()
    if not side.out_dir.exists():
        return seen
    for f in side.out_dir.rglob("*.mp4"):
        with contextlib.suppress(FileNotFoundError):
            if f.stat().st_size > 0:
                rel = f.relative_to(side.out_dir).parts
                # vigil: camI/main/DAY/RUN-SEQ.mp4; ffmpeg: camI-SEQ.mp4
                seen.add(rel[0] if len(rel) > 1 else f.name.split("-")[0])
    return seen & {f"cam{i}" for i in range(count)}


def wait_recording(side: Side, count: int, timeout_s: float) -> None:
    """Until every camera has written data. An ffmpeg that has not after STUCK_S is relaunched:
    now and then one hangs in its RTSP set-up when many clients connect at once, forever, where
    vigil would time out and reconnect."""
    start = time.monotonic()
    deadline = start + timeout_s
    next_restart = start + STUCK_S
    while True:
        side.check_alive()
        seen = cameras_with_data(side, count)
        if len(seen) == count:
            return
        if side.restart is not None and time.monotonic() > next_restart:
            for i in range(count):
                if f"cam{i}" not in seen:
                    side.restart(i)
            next_restart = time.monotonic() + STUCK_S
        if time.monotonic() > deadline:
            raise BenchError(f"{side.name}: only {len(seen)}/{count} cameras wrote data after {timeout_s:.0f} s "
                             f"(missing: {sorted({f'cam{i}' for i in range(count)} - seen)[:8]}); "
                             f"first log tail:\n{side.log_tail()}")
        time.sleep(0.25)


def verify_vigil(config: Path, count: int) -> tuple[int, int]:
    """(segments, bytes) listed by `vigil segments --json`; raises unless every camera has one."""
    result = subprocess.run([sys.executable, "-m", "vigil", "segments", "--config", str(config), "--json"],
                            capture_output=True, text=True, check=False, env=child_env())
    if result.returncode != 0:
        raise BenchError(f"vigil segments failed ({result.returncode}): {result.stderr.strip()}")
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    cams = {r["camera_id"] for r in rows if r["size_bytes"] and Path(r["path"]).is_file()}
    missing = sorted({f"cam{i}" for i in range(count)} - cams)
    if missing:
        raise BenchError(f"vigil: no non-empty segment listed for {missing[:5]} ({len(missing)} cameras)")
    return len(rows), sum(int(r["size_bytes"]) for r in rows)


def verify_ffmpeg(out: Path, count: int) -> tuple[int, int]:
    files = [f for f in out.glob("cam*-*.mp4") if f.stat().st_size > 0]
    missing = sorted({f"cam{i}" for i in range(count)} - {f.name.split("-")[0] for f in files})
    if missing:
        raise BenchError(f"ffmpeg: no non-empty file for {missing[:5]} ({len(missing)} cameras)")
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                            str(sorted(files)[0])], capture_output=True, text=True, check=False)
    if probe.returncode != 0 or not probe.stdout.strip() or float(probe.stdout.strip() or 0) <= 0:
        raise BenchError(f"ffmpeg: {sorted(files)[0]} does not probe: {probe.stderr.strip()}")
    return len(files), sum(f.stat().st_size for f in files)


# --------------------------------------------------------------------------------------------
# one measurement


@dataclass(frozen=True)
class Window:
    side: str
    cameras: int
    wall_s: float
    cpu_s: float
    camsrv_cpu_s: float
    other_cpu_s: float  # machine busy time not used by the side or the camera server
    window_bytes: int
    files: int
    total_bytes: int
    restarts: int = 0

    @property
    def cpu_per_stream_min(self) -> float:
        return self.cpu_s / (self.cameras * self.wall_s / 60)

    @property
    def core_pct(self) -> float:
        return 100 * self.cpu_s / self.wall_s

    @property
    def kbytes_per_stream_s(self) -> float:
        return self.window_bytes / 1000 / (self.cameras * self.wall_s)


def measure(side: Side, camsrv: SimCameras, count: int, warmup_s: float, seconds: float) -> tuple[float, ...]:
    """Warm up, then (wall, side CPU, camera server CPU, other CPU, bytes written) over the window."""
    wait_recording(side, count, timeout_s=60 + count)
    time.sleep(warmup_s)
    side.check_alive()
    b0, c0, m0, t0 = dir_bytes(side.out_dir), cpu_ticks(side.pids), cpu_ticks([camsrv.proc.pid]), time.monotonic()
    busy0 = machine_busy_ticks()
    deadline = t0 + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
        side.check_alive()
    c1, m1, t1, busy1 = cpu_ticks(side.pids), cpu_ticks([camsrv.proc.pid]), time.monotonic(), machine_busy_ticks()
    b1 = dir_bytes(side.out_dir)
    side_t, cam_t = ticks_between(c0, c1), ticks_between(m0, m1)
    other_t = busy1 - busy0 - side_t - cam_t
    return t1 - t0, side_t / CLK_TCK, cam_t / CLK_TCK, other_t / CLK_TCK, float(b1 - b0)


def run_side(kind: str, work: Path, camsrv: SimCameras, count: int, warmup_s: float, seconds: float) -> Window:
    work.mkdir(parents=True)
    urls = camsrv.urls
    config: Path | None = None
    if kind.startswith("vigil:"):
        side, config = start_vigil(work, urls, kind.split(":", 1)[1])
    else:
        side = start_ffmpeg(work, urls)
    try:
        wall, cpu, cam, other, nbytes = measure(side, camsrv, count, warmup_s, seconds)
        codes = [stop(p, 60) for p in side.procs]
    finally:
        for p in side.procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        side.close_logs()
    if config is not None:
        if codes != [0]:
            raise BenchError(f"vigil exited {codes[0]} after SIGTERM; log tail:\n{side.log_tail()}")
        files, total = verify_vigil(config, count)
    else:
        bad = [c for c in codes if c not in (0, 255)]  # ffmpeg exits 255 when stopped by a signal
        if bad:
            raise BenchError(f"ffmpeg exited {bad[:5]} after SIGTERM; see {work}")
        files, total = verify_ffmpeg(side.out_dir, count)
    return Window(kind, count, wall, cpu, cam, other, int(nbytes), files, total, side.restarts)


# --------------------------------------------------------------------------------------------
# report


@dataclass(frozen=True)
class Row:
    cameras: int
    ingest: str  # vigil's ingest: ffmpeg | native
    vigil: list[Window]
    ffmpeg: list[Window]

    def med(self, windows: list[Window], metric: Callable[[Window], float]) -> float:
        return statistics.median(metric(w) for w in windows)

    @property
    def ratio(self) -> float:
        return statistics.median(v.cpu_s / f.cpu_s for v, f in zip(self.vigil, self.ffmpeg, strict=True))

    @property
    def vigil_core_pct(self) -> float:
        return self.med(self.vigil, lambda w: w.core_pct)

    def markdown(self) -> str:
        v, f = self.vigil, self.ffmpeg
        ratios = ", ".join(f"{a.cpu_s / b.cpu_s:.2f}" for a, b in zip(v, f, strict=True))
        cam = statistics.median(100 * w.camsrv_cpu_s / w.wall_s for w in v + f)
        other = statistics.median(100 * w.other_cpu_s / w.wall_s for w in v + f)
        rate_v, rate_f = self.med(v, lambda w: w.kbytes_per_stream_s), self.med(f, lambda w: w.kbytes_per_stream_s)
        return (
            f"| {self.cameras} | {self.ingest} | {self.med(v, lambda w: w.cpu_per_stream_min):.3f} "
            f"| {self.med(f, lambda w: w.cpu_per_stream_min):.3f} | **{self.ratio:.2f}** ({ratios}) "
            f"| {self.vigil_core_pct:.1f} | {self.med(f, lambda w: w.core_pct):.1f} | {cam:.1f} | {other:.1f} "
            f"| {rate_v:.0f} / {rate_f:.0f} |"
        )


HEADER = (
    "| cameras | vigil ingest | vigil CPU s / stream-min | ffmpeg CPU s / stream-min | vigil / ffmpeg (per repeat) "
    "| vigil % of one core | ffmpeg % of one core | camera server % | other load % | kB/s per stream vigil / ffmpeg |\n"
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def targets(rows: list[Row]) -> list[tuple[str, bool]]:
    """The issue's targets: 1.2x ffmpeg for the FFmpeg ingest (issue 12), 1.0x for the native one (19)."""
    out = []
    for r in rows:
        limit = MAX_RATIO_NATIVE if r.ingest == "native" else MAX_RATIO
        out.append((f"{r.cameras} cameras, {r.ingest} ingest: vigil/ffmpeg = {r.ratio:.2f} <= {limit}",
                    r.ratio <= limit))
    out += [(f"32 cameras, {r.ingest} ingest: vigil = {r.vigil_core_pct:.1f}% of one core < "
             f"{MAX_CORE_PCT_AT_32:.0f}%", r.vigil_core_pct < MAX_CORE_PCT_AT_32) for r in rows if r.cameras == 32]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", default="1,8,32", help="comma-separated camera counts (default 1,8,32)")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured wall time per side and repeat")
    parser.add_argument("--repeats", type=int, default=3, help="vigil/ffmpeg pairs per camera count")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after every camera wrote data")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (recordings, logs)")
    parser.add_argument("--ingest", default="ffmpeg",
                        help="comma-separated vigil ingests, each measured as a side: ffmpeg, native (default ffmpeg)")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.cameras.split(",") if c.strip()]
    ingests = [i.strip() for i in args.ingest.split(",") if i.strip()]
    if not ingests or set(ingests) - {"ffmpeg", "native"}:
        parser.error("--ingest wants a comma list of ffmpeg and native")
    if not counts or min(counts) < 1 or args.repeats < 1 or args.seconds <= 0:
        parser.error("need camera counts >= 1, --repeats >= 1 and --seconds > 0")
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        parser.error("ffmpeg and ffprobe must be on PATH")

    rows: list[Row] = []
    with workdir(args.keep) as work:
        clip = make_h264_clip(work / "clip.mp4", 1920, 1080, FPS, CLIP_SECONDS, FPS, BITRATE_KBPS)
        log(f"clip {clip} ({clip.stat().st_size * 8 / CLIP_SECONDS / 1e6:.2f} Mb/s)")
        kinds = [f"vigil:{i}" for i in ingests] + ["ffmpeg"]
        for count in counts:
            windows: dict[str, list[Window]] = {k: [] for k in kinds}
            for rep in range(args.repeats):
                shift = rep % len(kinds)  # rotate who goes first
                for kind in kinds[shift:] + kinds[:shift]:
                    # A fresh camera server per side: a client connecting while the shared media of the
                    # previous side's session is being torn down can get no data at all.
                    tag = kind.replace(":", "-")
                    camsrv = SimCameras.from_clip(clip, count, work / f"camsrv-n{count}-r{rep}-{tag}.log")
                    try:
                        w = run_side(kind, work / f"n{count}-r{rep}-{tag}", camsrv, count, args.warmup, args.seconds)
                    finally:
                        camsrv.close()
                    windows[kind].append(w)
                    log(f"N={count} rep {rep} {kind:12}: {w.cpu_s:6.2f} CPU s in {w.wall_s:.1f} s "
                         f"= {w.core_pct:5.1f}% core, {w.cpu_per_stream_min:.3f} s/stream-min; "
                         f"camsrv {100 * w.camsrv_cpu_s / w.wall_s:.1f}%, "
                         f"other {100 * w.other_cpu_s / w.wall_s:.1f}%; "
                         f"{w.kbytes_per_stream_s:.0f} kB/s/stream; {w.files} files, {w.total_bytes / 1e6:.1f} MB"
                         + (f"; {w.restarts} stuck ffmpeg relaunched before the warm-up" if w.restarts else ""))
            rows += [Row(count, i, windows[f"vigil:{i}"], windows["ffmpeg"]) for i in ingests]

    print(f"\n{len(counts)} camera counts, {args.seconds:g} s windows, {args.repeats} repeats, "
          f"{os.cpu_count()} CPUs, {datetime.now(UTC).isoformat(timespec='seconds')}\n")
    print(HEADER)
    for row in rows:
        print(row.markdown())
    print()
    met = targets(rows)
    for text, ok in met:
        print(f"- target {'MET' if ok else 'MISSED'}: {text}")
    if not any(r.cameras == 32 for r in rows):
        print("- target not measured: 32 cameras < 30% of one core (32 not in --cameras)")
    return 0 if all(ok for _, ok in met) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench/record.py: FAILED: {error}", file=sys.stderr)
        sys.exit(2)
