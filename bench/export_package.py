"""Evidence export packages: how fast the appliance builds and `vigil verify` checks one.

    .venv/bin/python bench/export_package.py [--minutes 10] [--repeats 3]

Synthetic recordings: a 10 s 1080p15 ~4 Mb/s H.264 clip (``make_h264_clip``, 1 s GOP) is
remuxed by the recorder's own ``SegmentWriter`` into ``--minutes`` one-minute segments of one
camera run, indexed like the recorder does (record-time SHA-256 included). Then, per repeat:

* **package**: ``PackageWriter.write`` (the export worker's code) for the whole recorded range
  minus 1 s at each end: every segment copied into the zip and hashed, the stream-copied clip
  (``clips/clip.py``), the manifest signed;
* **baseline**: ``cp`` of the same segment files into a fresh directory followed by
  ``sha256sum`` of the copies, twice over (the package holds the segments and a clip of about
  the same size), i.e. the same bytes read, written and hashed by standard tools;
* **verify**: ``vigil verify PACKAGE --key FINGERPRINT`` (hashes every file and demuxes the clip
  and every segment to compare frames) and, side by side, ``sha256sum`` of the package file.

Everything is on the same filesystem and warm in the page cache after the first pass: the figures
are CPU-bound throughput, not disk speed. Medians of the repeats; ×real time is recorded
seconds / wall seconds."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon"))

from vigil.config import parse_config
from vigil.core.export_request import ExportRequest
from vigil.core.media import Codec
from vigil.exports.package import PackageWriter, clip_from_recordings, plan_export
from vigil.exports.signing import ensure_signing_key, public_info, signing_key_path
from vigil.record.storage import open_storage_dir
from vigil.record.writer import SegmentWriter, hash_file
from vigil.sim.clips import make_h264_clip
from vigil.store.exports import ExportStore
from vigil.store.index import Index
from vigil.store.rows import FinishedSegment, NewSegment

FPS, STEP_90K, START_NS = 15, 6000, 1_790_000_000 * 1_000_000_000
CONFIG = """
[storage]
path = "{data}"
min_free_bytes = 0
[[buildings]]
id = "hs"
[[cameras]]
id = "cam"
building = "hs"
url = "rtsp://127.0.0.1:1/cam"
"""


def record(index: Index, dir_id: int, root: Path, clip: Path, minutes: int) -> list[Path]:
    with av.open(str(clip), format="h264") as source:
        packets = [(bytes(p), bool(p.is_keyframe)) for p in source.demux(video=0) if p.size]
    run = index.start_run("cam", "main", START_NS, "h264")
    frames_per_segment = 60 * FPS
    paths = []
    for seq in range(minutes):
        rel = f"cam/main/2026-09-21/{run:06d}-{seq:05d}.mp4"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        start_ns = START_NS + seq * 60 * 1_000_000_000
        seg_id = index.open_segment(NewSegment("cam", "main", run, seq, dir_id, rel, start_ns,
                                               seq * frames_per_segment * STEP_90K, "h264", 1920, 1080))
        writer = SegmentWriter(path, Codec.H264, b"", packets[0][0])
        for i in range(frames_per_segment):
            data, key = packets[i % len(packets)]
            writer.write(data, i * STEP_90K, i * STEP_90K, STEP_90K, key)
        writer.close()
        size, sha = hash_file(path)
        done = FinishedSegment(start_ns + 60 * 1_000_000_000, frames_per_segment * STEP_90K, frames_per_segment,
                               frames_per_segment // FPS, size, sha, "size")
        index.complete_segment(seg_id, done)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-export-") as tmp_text:
        tmp = Path(tmp_text)
        config = parse_config(CONFIG.format(data=tmp / "data"), tmp / "vigil.toml")
        index = Index.open(config.storage.index_path, time.time_ns())
        with index.transaction() as conn:
            storage = open_storage_dir(conn, config.storage.recordings_path, require_mount=False)
        clip = make_h264_clip(tmp / "clip.h264", seconds=10.0)
        paths = record(index, storage.id, config.storage.recordings_path, clip, args.minutes)
        segment_bytes = sum(p.stat().st_size for p in paths)
        key = ensure_signing_key(signing_key_path(config.storage.path))
        fingerprint = public_info(key.public_key()).fingerprint
        store = ExportStore(index)
        start_ns, end_ns = START_NS + 1_000_000_000, START_NS + (args.minutes * 60 - 1) * 1_000_000_000
        request = ExportRequest(("cam",), start_ns, end_ns, "bench", None)
        recorded_s = (end_ns - start_ns) / 1e9
        daemon_dir = str(Path(__file__).resolve().parents[1] / "daemon")
        results: dict[str, list[float]] = {"package": [], "baseline": [], "verify": [], "sha256sum": []}
        sizes = []
        for repeat in range(args.repeats):
            export_id = store.create(request, "bench", time.time_ns())
            row = store.get(export_id)
            plan = plan_export(config, index, ("cam",), start_ns, end_ns)
            writer = PackageWriter(config, index, key, clip_from_recordings, threading.Event(), lambda p: None)
            started = time.perf_counter()
            name, size, _ = writer.write(row, plan, "bench", time.time_ns())
            results["package"].append(time.perf_counter() - started)
            package = config.storage.path / "exports" / name
            sizes.append(size)
            copy_dir = tmp / f"copy-{repeat}"
            started = time.perf_counter()
            for half in ("a", "b"):
                (copy_dir / half).mkdir(parents=True)
                subprocess.run(["cp", *map(str, paths), str(copy_dir / half)], check=True)
                subprocess.run(["sha256sum", *map(str, (copy_dir / half).iterdir())], check=True,
                               stdout=subprocess.DEVNULL)
            results["baseline"].append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "vigil", "verify", str(package), "--key", fingerprint], check=True,
                           stdout=subprocess.DEVNULL, env={"PYTHONPATH": daemon_dir, "PATH": "/usr/bin:/bin"})
            results["verify"].append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run(["sha256sum", str(package)], check=True, stdout=subprocess.DEVNULL)
            results["sha256sum"].append(time.perf_counter() - started)
        index.close()
    med = {k: statistics.median(v) for k, v in results.items()}
    package_mb = statistics.median(sizes) / 1e6
    print(f"recorded {args.minutes} min of 1080p15 in {len(paths)} segments, {segment_bytes / 1e6:.1f} MB;"
          f" package {package_mb:.1f} MB; {args.repeats} repeats (medians)")
    for name, seconds in med.items():
        print(f"{name:10} {seconds:7.2f} s  {package_mb / seconds:7.1f} MB/s  {recorded_s / seconds:7.1f}x real time"
              f"   runs: {', '.join(f'{s:.2f}' for s in results[name])}")
    print(f"package / baseline time: {med['package'] / med['baseline']:.2f};"
          f" verify / sha256sum time: {med['verify'] / med['sha256sum']:.2f}")


if __name__ == "__main__":
    main()
