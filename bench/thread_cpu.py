"""Where a recording daemon's CPU goes, by thread kind: the ingest threads (`rtsp-<camera>`), the
recorders (`rec-<camera>`), the main loop and the rest.

    .venv/bin/python bench/thread_cpu.py [--cameras 8] [--seconds 15] [--ingest native,ffmpeg]

Same set-up as bench/record.py (the sim camera server replaying its 1080p15 ~4 Mb/s clip, the
daemon recording only). Python names its threads but not the OS's, so each OS thread id is
mapped to its Python name once with `py-spy dump` (py-spy must be on PATH: `pip install py-spy`
into any venv; it is not one of Vigil's dependencies), then the CPU time of every thread is read
from /proc/PID/task/TID/stat at the start and the end of the window. Kinds are the names with
their camera number dropped. One window per ingest, one after the other.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from procstat import CLK_TCK, BenchError, SimCameras, log, stat_fields, stop, workdir
from record import BITRATE_KBPS, CLIP_SECONDS, FPS, start_vigil, wait_recording
from vigil.sim.clips import make_h264_clip

_DUMP_THREAD = re.compile(r'Thread (\d+) \((?:idle|active)[^)]*\): "([^"]*)"')


def thread_ticks(pid: int) -> dict[str, int]:
    """utime + stime (clock ticks) of each live thread of `pid`, by OS thread id."""
    out: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        if (fields := stat_fields(pid, task.name)) is not None:  # else it ended meanwhile
            out[task.name] = int(fields[11]) + int(fields[12])
    return out


def thread_names(pid: int) -> dict[str, str]:
    """OS thread id -> Python thread name, from `py-spy dump`."""
    dump = subprocess.run(["py-spy", "dump", "-p", str(pid)], capture_output=True, text=True, check=True).stdout
    return {tid: name for tid, name in _DUMP_THREAD.findall(dump)}


def measure(clip: Path, work: Path, ingest: str, cameras: int, seconds: float) -> collections.Counter[str]:
    camsrv = SimCameras.from_clip(clip, cameras, work / f"camsrv-{ingest}.log")
    try:
        (work / f"vigil-{ingest}").mkdir()
        side, _ = start_vigil(work / f"vigil-{ingest}", camsrv.urls, ingest)
        try:
            wait_recording(side, cameras, 60)
            time.sleep(3)  # past the sessions' start
            pid = side.procs[0].pid
            names = thread_names(pid)
            before = thread_ticks(pid)
            time.sleep(seconds)
            after = thread_ticks(pid)
        finally:
            stop(side.procs[0], 20)
    finally:
        camsrv.close()
    kinds: collections.Counter[str] = collections.Counter()
    for tid, ticks in after.items():
        kinds[re.sub(r"\d+$", "N", names.get(tid, "(unnamed)"))] += ticks - before.get(tid, 0)
    return kinds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--ingest", default="native,ffmpeg")
    args = parser.parse_args(argv)
    if shutil.which("py-spy") is None:
        parser.error("py-spy must be on PATH (pip install py-spy into any venv)")
    with workdir(False) as work:
        clip = make_h264_clip(work / "clip.mp4", 1920, 1080, FPS, CLIP_SECONDS, FPS, BITRATE_KBPS)
        print("| ingest | thread kind | CPU ms per stream-second | share |")
        print("|---|---|---:|---:|")
        for ingest in args.ingest.split(","):
            kinds = measure(clip, work, ingest, args.cameras, args.seconds)
            total = sum(kinds.values())
            if total == 0:
                raise BenchError(f"{ingest}: no CPU time measured")
            log(f"{ingest}: {total / CLK_TCK:.2f} s CPU in {args.seconds:g} s")
            for kind, ticks in kinds.most_common():
                if ticks:
                    per_stream_ms = ticks / CLK_TCK * 1000 / args.seconds / args.cameras
                    print(f"| {ingest} | {kind} | {per_stream_ms:.2f} | {ticks / total:.0%} |")
            per_stream_ms = total / CLK_TCK * 1000 / args.seconds / args.cameras
            print(f"| {ingest} | **all** | **{per_stream_ms:.2f}** | 100% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
