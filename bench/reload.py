"""Adding a camera while others record (issue 15): a reload (SIGHUP, what `vigil reload` and the
API's edits do) against the alternative before it, a daemon restart, side by side on the same
simulated cameras.

    unshare --net -- sh -c 'ip link set lo up && exec .venv/bin/python bench/reload.py --cameras 8 --repeats 3'

A repeat runs both methods, each on a fresh data directory and daemon (the order alternates per
repeat): N cameras record (2 s segments); once each has two finished segments, one camera is added
to the file, then either SIGHUP (reload) or SIGTERM + start again (restart). Measured:

* new camera: from the change to the start of the added camera's first segment (s);
* untouched cameras: the largest hole in their recordings across the change (a segment starting
  later than the previous one ended), the worst of the N cameras (s); and whether any of them
  began a new run (recording restarted).

Reported: medians over repeats. Exit 0 = measured and the reload left no hole, 1 = a hole, 2 =
could not measure."""

from __future__ import annotations

import argparse
import itertools
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "daemon"))

from procstat import BenchError, SimCameras, child_env, log, stop, workdir  # noqa: E402 (bench/ is the script's directory)
from vigil.sim.clips import make_h264_clip  # noqa: E402

SEGMENT_S = 2
METHODS = ("reload", "restart")
NS = 1_000_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def camera_table(camera_id: str, url: str) -> str:
    return f'[[cameras]]\nid = "{camera_id}"\nbuilding = "hs"\nurl = "{url}"\nmotion = "off"\n'


def segments(index: Path, camera_id: str) -> list[tuple[int, int | None, int]]:
    """(start, end, run) of the camera's segments, oldest first (read-only, another process writes)."""
    with sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=5) as conn:
        rows = conn.execute("SELECT start_wall_ns, end_wall_ns, run_id FROM segments WHERE camera_id = ?"
                            " ORDER BY start_wall_ns", (camera_id,)).fetchall()
    return [(int(a), None if b is None else int(b), int(c)) for a, b, c in rows]


def wait(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    raise BenchError(f"timed out after {timeout_s} s waiting for {what}")


@dataclass(frozen=True)
class Outcome:
    new_camera_s: float
    hole_s: float
    new_runs: int


def measure(method: str, work: Path, urls: list[str]) -> Outcome:
    """One method on a fresh daemon: N = len(urls) - 1 cameras, then the last one added."""
    work.mkdir()
    config, index = work / "vigil.toml", work / "data" / "index.sqlite3"
    head = (f'[storage]\npath = "{work / "data"}"\nmin_free_bytes = 0\nsegment_duration_s = {SEGMENT_S}\n'
            f'[[buildings]]\nid = "hs"\nname = "HS"\n')
    kept = [f"cam{i}" for i in range(len(urls) - 1)]
    tail = f'[http]\nlisten = "127.0.0.1:{free_port()}"\ntls = false\n'
    config.write_text(head + "".join(camera_table(c, u) for c, u in zip(kept, urls, strict=False)) + tail)
    logs = (work / "vigil-0.log").open("wb")
    start = [sys.executable, "-m", "vigil", "run", "--config", str(config)]
    proc = subprocess.Popen(start, stdout=subprocess.DEVNULL, stderr=logs, env=child_env())
    try:
        wait(lambda: all(sum(e is not None for _, e, _ in segments(index, c)) >= 2 for c in kept), 90,
             "every camera's first two segments")
        config.write_text(config.read_text().replace("[http]", camera_table(f"cam{len(kept)}", urls[-1]) + "[http]"))
        changed_ns = time.time_ns()
        if method == "reload":
            proc.send_signal(signal.SIGHUP)
        else:
            if stop(proc, 60) != 0:
                raise BenchError(f"vigil exited non-zero: {(work / 'vigil-0.log').read_text()[-2000:]}")
            logs.close()
            logs = (work / "vigil-1.log").open("wb")
            proc = subprocess.Popen(start, stdout=subprocess.DEVNULL, stderr=logs, env=child_env())
        added = f"cam{len(kept)}"
        wait(lambda: bool(segments(index, added)), 60, "the added camera's first segment")
        new_camera_s = (segments(index, added)[0][0] - changed_ns) / NS
        wait(lambda: all(sum(s > changed_ns + 2 * SEGMENT_S * NS for s, e, _ in segments(index, c)) >= 1
                         for c in kept), 60, "segments after the change")
        if stop(proc, 60) != 0:
            raise BenchError("vigil exited non-zero at the end")
    finally:
        if proc.poll() is None:
            proc.kill()
        logs.close()
    hole_ns, new_runs = 0, 0
    for camera_id in kept:
        segs = segments(index, camera_id)
        new_runs += len({run for _, _, run in segs}) > 1
        for (_, end, _), (next_start, _, _) in itertools.pairwise(segs):
            if end is not None:
                hole_ns = max(hole_ns, next_start - end)
    return Outcome(new_camera_s, hole_ns / NS, new_runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=8, help="cameras recording before one is added")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    results: dict[str, list[Outcome]] = {m: [] for m in METHODS}
    try:
        with workdir(args.keep, "vigil-bench-reload-") as work:
            clip = make_h264_clip(work / "clip.mp4", 640, 360, 15, 10.0, 15, 500)
            cams = SimCameras.from_clip(clip, args.cameras + 1, work / "cameras.log")
            try:
                for repeat in range(args.repeats):
                    order = METHODS if repeat % 2 == 0 else METHODS[::-1]
                    for method in order:
                        outcome = measure(method, work / f"{method}-{repeat}", cams.urls)
                        log(f"repeat {repeat} {method}: {outcome}")
                        results[method].append(outcome)
            finally:
                cams.close()
    except BenchError as error:
        log(f"could not measure: {error}")
        return 2
    print(f"{args.cameras} cameras recording, one added; medians of {args.repeats} repeats\n")
    print("| method | added camera's first segment after (s) | largest hole in the others (s) | others restarted |")
    print("|---|---:|---:|---:|")
    for method in METHODS:
        rows = results[method]
        print(f"| {method} | {statistics.median(r.new_camera_s for r in rows):.2f}"
              f" ({', '.join(f'{r.new_camera_s:.2f}' for r in rows)})"
              f" | {statistics.median(r.hole_s for r in rows):.2f} ({', '.join(f'{r.hole_s:.2f}' for r in rows)})"
              f" | {statistics.median(r.new_runs for r in rows):.0f} of {args.cameras} |")
    return 0 if all(r.hole_s == 0 and r.new_runs == 0 for r in results["reload"]) else 1


if __name__ == "__main__":
    sys.exit(main())
