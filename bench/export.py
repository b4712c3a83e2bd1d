"""Clip export speed: a 10-minute 1080p clip out of a day of recordings, three ways, side by side.

    .venv/bin/python bench/export.py [--repeats 5] [--clip-minutes 10] [--tls]

Set-up (once): a 60 s 1080p15 ~4 Mb/s H.264 clip is encoded with ffmpeg/libx264 and written
into one real segment file by the recorder's own SegmentWriter (1 s GOP, one fragment per GOP).
A day of synthetic recordings is then made of it: 1440 index rows (one run, contiguous 60 s
segments, size and SHA-256 as the recorder records them) pointing at hard links of that file.

Measured, per repeat, in alternating order, each writing the clip to a file in the same dir:

* http: the real daemon (`python -m vigil run`, plain HTTP on loopback, or HTTPS with --tls) answering
  GET /api/cameras/cam/clip.mp4?start=&end= for a 10-minute range in the middle of the day; the
  client (http.client, 1 MiB reads) measures the time to the first body byte and to the last;
* api: `plan_clip` + `iter_clip_bytes` in this process (what evidence exports use);
* ffmpeg: `ffmpeg -f concat -safe 0 -i LIST -c copy` over the same segment files (10 of them).

Reported: medians of time to first byte (http, api), throughput as × real time (clip seconds
per wall second) and vigil / ffmpeg throughput ratios (median of per-repeat ratios).
Also the time to the first byte of a 1 h (target ≤ 200 ms too) and a 24 h clip over HTTP (the
plan is the cost there; 24 h is reported, not a target).
Targets: first byte ≤ 200 ms, ≥ 100× real time, ≥ 0.8× ffmpeg's throughput.
Exit 0 = targets met, 1 = a target missed, 2 = could not measure.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "daemon"))

import av  # noqa: E402

from procstat import BenchError, child_env, stop  # noqa: E402 (bench/ is the script's directory)
from vigil.clips import iter_clip_bytes, plan_clip  # noqa: E402
from vigil.core.h26x import parameter_sets  # noqa: E402
from vigil.core.media import Codec  # noqa: E402
from vigil.core.timebase import NS_PER_SECOND, ticks_to_ns, wall_ns_to_iso  # noqa: E402
from vigil.record.storage import open_storage_dir  # noqa: E402
from vigil.record.writer import SegmentWriter, hash_file  # noqa: E402
from vigil.sim.clips import make_h264_clip  # noqa: E402
from vigil.store.index import Index  # noqa: E402
from vigil.store.rows import FinishedSegment, NewSegment  # noqa: E402

FPS, SEGMENT_S, BITRATE_KBPS = 15, 60, 4000
FRAME_90K = 90_000 // FPS
SEGMENTS_PER_DAY = 24 * 3600 // SEGMENT_S
S = NS_PER_SECOND


@dataclass(frozen=True)
class Day:
    config: Path
    index_path: Path
    segment_paths: list[Path]  # in time order
    day_start_ns: int


def make_segment(work: Path) -> Path:
    raw = make_h264_clip(work / "src.h264", 1920, 1080, FPS, SEGMENT_S, FPS, BITRATE_KBPS)
    with av.open(str(raw), format="h264") as container:
        units = [(bytes(p), p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size]
    path = work / "segment.mp4"
    writer = SegmentWriter(path, Codec.H264, parameter_sets(Codec.H264, units[0][0]), units[0][0])
    for n, (data, key) in enumerate(units):
        writer.write(data, n * FRAME_90K, n * FRAME_90K, FRAME_90K, key)
    writer.close()
    if len(units) != FPS * SEGMENT_S:
        raise BenchError(f"expected {FPS * SEGMENT_S} frames, encoded {len(units)}")
    return path


@dataclass(frozen=True)
class Server:
    port: int
    ca: Path | None  # HTTPS with this certificate, else plain HTTP

    def connect(self, timeout_s: float = 120) -> http.client.HTTPConnection:
        if self.ca is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        context = ssl.create_default_context(cafile=str(self.ca))
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout_s, context=context)


def make_day(work: Path, segment: Path, port: int, tls: bool) -> Day:
    data = work / "data"
    recordings = data / "recordings"
    config = work / "vigil.toml"
    config.write_text("\n".join([
        "[storage]", f'path = "{data}"', "min_free_bytes = 0",
        "[http]", f'listen = "127.0.0.1:{port}"', f"tls = {'true' if tls else 'false'}",
        "[[buildings]]", 'id = "hs"', 'name = "High School"',
        "[[cameras]]", 'id = "cam"', 'building = "hs"', 'url = "rtsp://127.0.0.1:9/nothing-here"', "",
    ]))
    index = Index.open(data / "index.sqlite3", time.time_ns())
    with index.transaction() as c:
        storage = open_storage_dir(c, recordings, require_mount=False)
    size, sha = hash_file(segment)
    day_start = (time.time_ns() // S - 26 * 3600) * S
    run = index.start_run("cam", "main", day_start, "h264")
    paths = []
    duration_90k = FPS * SEGMENT_S * FRAME_90K
    for seq in range(SEGMENTS_PER_DAY):
        start = day_start + seq * ticks_to_ns(duration_90k)
        rel = f"cam/main/day/{run}-{seq:05d}.mp4"
        path = recordings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        os.link(segment, path)
        seg_id = index.open_segment(NewSegment("cam", "main", run, seq, storage.id, rel, start, 0, "h264", 1920, 1080))
        index.complete_segment(seg_id, FinishedSegment(start + ticks_to_ns(duration_90k), duration_90k,
                                                       FPS * SEGMENT_S, SEGMENT_S, size, sha, "duration"))
        paths.append(path)
    index.end_run(run, day_start + SEGMENTS_PER_DAY * ticks_to_ns(duration_90k), "stopped")
    index.close()
    return Day(config, data / "index.sqlite3", paths, day_start)


def vigil_cli(config: Path, *args: str, stdin: str = "") -> str:
    result = subprocess.run([sys.executable, "-m", "vigil", *args, "--config", str(config)], input=stdin,
                            capture_output=True, text=True, env=child_env(), check=False, timeout=120)
    if result.returncode != 0:
        raise BenchError(f"vigil {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


@dataclass(frozen=True)
class Run:
    first_byte_s: float | None
    total_s: float
    size_bytes: int


def via_http(server: Server, token: str, query: str, out: Path) -> Run:
    conn = server.connect()
    t0 = time.perf_counter()
    conn.request("GET", query, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    if response.status != 200:
        raise BenchError(f"clip request answered {response.status}: {response.read()[:300]!r}")
    size = 0
    first: float | None = None
    with out.open("wb") as f:
        while chunk := response.read1(1 << 20):
            if first is None:
                first = time.perf_counter() - t0
            f.write(chunk)
            size += len(chunk)
    total = time.perf_counter() - t0
    conn.close()
    if size != int(response.headers["Content-Length"]):
        raise BenchError(f"got {size} bytes of {response.headers['Content-Length']}")
    return Run(first, total, size)


def first_byte_http(server: Server, token: str, query: str) -> float:
    """Seconds from sending the request to the first body byte (the connection is then dropped)."""
    conn = server.connect()
    t0 = time.perf_counter()
    conn.request("GET", query, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    if response.status != 200 or not response.read1(1):
        raise BenchError(f"clip request answered {response.status}")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def via_api(index_path: Path, start_ns: int, end_ns: int, out: Path) -> Run:
    t0 = time.perf_counter()
    index = Index.open_readonly(index_path)
    plan = plan_clip(index, "cam", start_ns, end_ns)
    first: float | None = None
    with out.open("wb") as f:
        for chunk in iter_clip_bytes(plan):
            if first is None:
                first = time.perf_counter() - t0
            f.write(chunk)
    total = time.perf_counter() - t0
    index.close()
    return Run(first, total, plan.size_bytes)


def via_ffmpeg(segments: list[Path], work: Path, out: Path) -> Run:
    listing = work / "concat.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in segments))
    t0 = time.perf_counter()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-c", "copy", "-f", "mp4", str(out)], check=True)
    return Run(None, time.perf_counter() - t0, out.stat().st_size)


def frames_in(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_packets", "-of", "csv=p=0", str(path)], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.strip())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(server: Server, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.ca is not None and not server.ca.exists():  # the daemon makes it on first start
            time.sleep(0.2)
            continue
        try:
            conn = server.connect(2)
            conn.request("GET", "/api/health")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise BenchError("the daemon's API did not come up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clip-minutes", type=int, default=10)
    parser.add_argument("--tls", action="store_true", help="HTTPS with the daemon's own certificate (default: HTTP)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-export-") as tmp:
        work = Path(tmp)
        print("encoding a 60 s 1080p15 segment ...", flush=True)
        segment = make_segment(work)
        port = free_port()
        day = make_day(work, segment, port, args.tls)
        server = Server(port, work / "data" / "tls" / "cert.pem" if args.tls else None)
        vigil_cli(day.config, "user", "add", "bench", "--role", "district_admin", "--password-stdin",
                  stdin="benchmark password\n")
        token = vigil_cli(day.config, "token", "create", "bench")
        clip_s = args.clip_minutes * 60
        first_seq = SEGMENTS_PER_DAY // 2
        start_ns = day.day_start_ns + first_seq * SEGMENT_S * S + S // 2  # mid-GOP: starts at a keyframe before
        end_ns = start_ns + clip_s * S
        query = f"/api/cameras/cam/clip.mp4?start={wall_ns_to_iso(start_ns)}&end={wall_ns_to_iso(end_ns)}"
        concat = day.segment_paths[first_seq:first_seq + args.clip_minutes]  # the same 10 minutes, whole files
        print(f"segment {segment.stat().st_size / 1e6:.1f} MB; day of {SEGMENTS_PER_DAY} rows; clip {clip_s} s",
              flush=True)
        proc = subprocess.Popen([sys.executable, "-m", "vigil", "run", "--config", str(day.config)],
                                stdout=subprocess.DEVNULL, stderr=(work / "vigil.log").open("wb"), env=child_env())
        results: dict[str, list[Run]] = {"http": [], "api": [], "ffmpeg": []}
        media_s: dict[str, float] = {}
        try:
            wait_http(server, 30)
            sides: dict[str, Callable[[Path], Run]] = {
                "http": lambda out: via_http(server, token, query, out),
                "api": lambda out: via_api(day.index_path, start_ns, end_ns, out),
                "ffmpeg": lambda out: via_ffmpeg(concat, work, out),
            }
            for name, side in sides.items():  # warm the page cache and check every output once
                out = work / f"check-{name}.mp4"
                side(out)
                frames = frames_in(out)
                media_s[name] = frames / FPS
                print(f"check {name}: {out.stat().st_size / 1e6:.1f} MB, {frames} frames", flush=True)
                out.unlink()
            for repeat in range(args.repeats):
                order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
                for name in order:
                    out = work / f"out-{name}.mp4"
                    results[name].append(sides[name](out))
                    out.unlink()
                print(f"repeat {repeat + 1}: " + ", ".join(
                    f"{n} {results[n][-1].total_s:.3f} s" for n in sides), flush=True)
            long_ranges = {"1 h": 3600, "24 h": 24 * 3600 - 60}
            first_bytes = {}
            for label, seconds in long_ranges.items():
                a = day.day_start_ns + S // 2
                q = f"/api/cameras/cam/clip.mp4?start={wall_ns_to_iso(a)}&end={wall_ns_to_iso(a + seconds * S)}"
                first_bytes[label] = statistics.median(first_byte_http(server, token, q) for _ in range(args.repeats))
        finally:
            stop(proc, 30)
        code = report(results, media_s)
        for label, seconds_to_first in first_bytes.items():
            print(f"first byte of a {label} clip over HTTP: {seconds_to_first * 1000:.1f} ms (median)")
        return code if first_bytes["1 h"] <= 0.2 else 1  # the 24 h figure is reported, not a target


def report(results: dict[str, list[Run]], media_s: dict[str, float]) -> int:
    """Throughput as media seconds written per wall second, each path by its own output's length."""
    def med(values: list[float]) -> float:
        return statistics.median(values)

    rows = []
    ok = True
    ffmpeg = results["ffmpeg"]
    for name, runs in results.items():
        speed = med([media_s[name] / r.total_s for r in runs])
        first = [r.first_byte_s for r in runs if r.first_byte_s is not None]
        ratio = med([(media_s[name] / r.total_s) / (media_s["ffmpeg"] / f.total_s)
                     for r, f in zip(runs, ffmpeg, strict=True)])
        mb_s = med([r.size_bytes / r.total_s / 1e6 for r in runs])
        rows.append(f"| {name} | {media_s[name]:.1f} | {med([r.total_s for r in runs]):.3f} | "
                    f"{'-' if not first else f'{med(first) * 1000:.1f}'} | {speed:.0f}x | {mb_s:.0f} | "
                    f"{'-' if name == 'ffmpeg' else f'{ratio:.2f}'} |")
        if name != "ffmpeg":
            ok = ok and bool(first) and med(first) <= 0.2 and speed >= 100 and ratio >= 0.8
    print("| path | media s | total s | first byte ms | x real time | MB/s | throughput / ffmpeg |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print("targets (first byte <= 200 ms, >= 100x real time, >= 0.8x ffmpeg):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"benchmark could not measure: {error}", file=sys.stderr)
        sys.exit(2)
