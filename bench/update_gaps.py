"""Recording gaps across an appliance's reboots and updates, from the index itself: each run of a
camera (first segment's start to last segment's end) and the time between one run's end and the
next one's start, i.e. what was not recorded. The peer is the box's own plain reboot: the
qemu update test (tests/e2e/appliance/test_image_update.py) leaves the data partition's index in
its tmp directory (`data/index.sqlite3`) after v1 -> v2 (update) and v3's rollback to v2.

    .venv/bin/python bench/update_gaps.py PATH/TO/index.sqlite3 [--camera demo-cam]

Exit 0: printed; 2: no segments to measure."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vigil.store.index import Index


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--camera", default="demo-cam")
    args = parser.parse_args()
    index = Index.open_readonly(args.index)
    try:
        segments = index.segments(args.camera, state=None)
    finally:
        index.close()
    if not segments:
        print(f"no segments of {args.camera}", file=sys.stderr)
        return 2
    runs: dict[int, tuple[int, int]] = {}
    for seg in segments:
        end = seg.end_wall_ns if seg.end_wall_ns is not None else seg.start_wall_ns
        first, last = runs.get(seg.run_id, (seg.start_wall_ns, end))
        runs[seg.run_id] = (min(first, seg.start_wall_ns), max(last, end))
    print("| run | recorded s | gap before it s |\n|---:|---:|---:|")
    previous_end = None
    for run_id, (start, end) in sorted(runs.items(), key=lambda r: r[1][0]):
        gap = "" if previous_end is None else f"{(start - previous_end) / 1e9:.1f}"
        print(f"| {run_id} | {(end - start) / 1e9:.1f} | {gap} |")
        previous_end = end
    return 0


if __name__ == "__main__":
    sys.exit(main())
