"""Time from a frame's last RTP packet to its availability to fan-out subscribers, per ingest.

    .venv/bin/python bench/ingest_latency.py [--cameras 32] [--seconds 20] [--ingest native,ffmpeg]

One simulated camera server (GStreamer RTSP) replays a pre-encoded 640x360 15 fps ~1 Mb/s H.264 clip
(1 s GOP) as N cameras. Between it and the ingests sits bench/rtsp_tap.py, a separate process
that forwards the bytes unchanged and stamps (wall clock) each RTP packet carrying the marker bit
(a frame's last packet) just before handing it to the ingest's TCP socket, keyed by the packet's
last 16 bytes (= the access unit's last 16 bytes). In this process, N ingests of one kind run as
in the daemon (one thread each, RTP over TCP interleaved), each publishing to its own Fanout with
one subscriber whose waker (called in the publishing thread right after the unit is queued for
the subscriber) stamps the wall clock: "available". Latency = available - tapped, matched by the
unit's tail (the latest tap stamp not after it). The first 3 s of each side are not counted. The
ingests run one after the other (alternating order per repeat), on a fresh camera server and tap.

What it includes: the kernel's loopback delivery, the ingest's read, depacketizing, timestamping
and the fan-out's queueing, under the load of N cameras in one process. What it leaves out: the
subscriber thread's own wake-up (consumers pay that on either ingest).
"""

from __future__ import annotations

import argparse
import bisect
import functools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "daemon"))

from procstat import BenchError, SimCameras, log, stop, workdir  # noqa: E402
from vigil.config import CameraConfig  # noqa: E402
from vigil.core.camera_modes import IngestPath, Stream  # noqa: E402
from vigil.core.media import EncodedPacket, StreamItem  # noqa: E402
from vigil.ingest.fanout import Fanout  # noqa: E402
from vigil.ingest.native_ingest import NativeRtspIngest  # noqa: E402
from vigil.ingest.rtsp import RtspIngest  # noqa: E402
from vigil.sim.clips import make_h264_clip  # noqa: E402

FPS = 15
SKIP_S = 3.0
TAIL = 16


def stamp_now(stamps: list[int]) -> None:
    stamps.append(time.time_ns())


class Tap:
    """bench/rtsp_tap.py in front of the camera server: one port per camera."""

    def __init__(self, upstream_port: int, count: int, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "rtsp_tap.py"), "--upstream", f"127.0.0.1:{upstream_port}",
             "--count", str(count), "--out", str(out)], stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().split()
        if not line or line[0] != "READY":
            raise BenchError("rtsp_tap.py did not start")
        self.ports = [int(p) for p in line[1:]]

    def stamps(self) -> dict[int, dict[str, list[int]]]:
        stop(self.proc, 10)
        raw: dict[str, list[list[Any]]] = json.loads(self.out.read_text())
        out: dict[int, dict[str, list[int]]] = {}
        for cam, rows in raw.items():
            by_tail: dict[str, list[int]] = {}
            for tail, t_ns in rows:
                by_tail.setdefault(tail, []).append(int(t_ns))
            out[int(cam)] = by_tail
        return out


def run_side(kind: IngestPath, clip: Path, count: int, seconds: float, work: Path) -> list[float]:
    """Latencies (ms) of every matched unit after SKIP_S, for `count` cameras on ingest `kind`."""
    camsrv = SimCameras.from_clip(clip, count, work / f"camsrv-{kind}.log")
    tap = None
    threads: list[threading.Thread] = []
    ingests: list[Any] = []
    try:
        tap = Tap(camsrv.port, count, work / f"tap-{kind}.json")
        subs = []
        available: list[list[int]] = []
        for i in range(count):
            url = f"rtsp://127.0.0.1:{tap.ports[i]}/cam{i}"
            fanout = Fanout()
            stamps: list[int] = []
            available.append(stamps)
            subs.append(fanout.subscribe("bench", 100_000, functools.partial(stamp_now, stamps)))
            camera = CameraConfig(f"cam{i}", "bench", f"cam{i}", url, ingest=kind)
            cls = NativeRtspIngest if kind is IngestPath.NATIVE else RtspIngest
            ingest = cls(camera, url, Stream.MAIN, fanout, lambda _t: None)
            ingests.append(ingest)
            threads.append(threading.Thread(target=ingest.run, daemon=True))
        start = time.time_ns()
        for t in threads:
            t.start()
        time.sleep(seconds + SKIP_S)
    finally:
        for ingest in ingests:
            ingest.stop()
        for t in threads:
            t.join(10)
        stamps_by_cam = tap.stamps() if tap is not None else {}
        camsrv.close()
    latencies: list[float] = []
    unmatched = 0
    for i, sub in enumerate(subs):
        items: list[StreamItem] = sub.drain()
        # The waker ran once per queued item, in order.
        times = available[i][:len(items)]
        for item, t_avail in zip(items, times, strict=True):
            if not isinstance(item, EncodedPacket) or t_avail < start + SKIP_S * 1e9:
                continue
            tapped = stamps_by_cam.get(i, {}).get(item.data[-TAIL:].hex(), [])
            k = bisect.bisect_right(tapped, t_avail)
            if k == 0:
                unmatched += 1
                continue
            latencies.append((t_avail - tapped[k - 1]) / 1e6)
    if not latencies:
        raise BenchError(f"{kind}: no unit matched a tapped packet ({unmatched} unmatched)")
    log(f"{kind}: {len(latencies)} units matched, {unmatched} unmatched")
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0, help="counted seconds per side and repeat")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--ingest", default="native,ffmpeg", help="comma list: native, ffmpeg")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    kinds = [IngestPath(k.strip()) for k in args.ingest.split(",") if k.strip()]
    results: dict[IngestPath, list[float]] = {k: [] for k in kinds}
    with workdir(args.keep, "vigil-bench-latency-") as work:
        clip = make_h264_clip(work / "clip.mp4", 640, 360, FPS, 10.0, FPS, 1000)
        for rep in range(args.repeats):
            for kind in kinds if rep % 2 == 0 else kinds[::-1]:
                side = work / f"r{rep}-{kind}"
                side.mkdir()
                results[kind] += run_side(kind, clip, args.cameras, args.seconds, side)
    print(f"\n{args.cameras} cameras, {args.seconds:g} s counted per side, {args.repeats} repeats, "
          f"{os.cpu_count()} CPUs, {datetime.now(UTC).isoformat(timespec='seconds')}\n")
    print("| ingest | units | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|")
    for kind, values in results.items():
        print(f"| {kind} | {len(values)} | {statistics.median(values):.2f} | {pct(values, 90):.2f} "
              f"| {pct(values, 99):.2f} | {max(values):.2f} |")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench/ingest_latency.py: FAILED: {error}", file=sys.stderr)
        sys.exit(2)
