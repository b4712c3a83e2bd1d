"""Segment rows written straight into an index, as the recorder would: for tests of what reads them."""

from __future__ import annotations

from vigil.core.timebase import wall_ns_to_iso
from vigil.store.index import Index
from vigil.store.rows import FinishedSegment, NewSegment

S = 1_000_000_000
T0 = 1_780_000_000 * S  # 2026-05-28T20:26:40Z
MB = 1_000_000


def iso(ns: int) -> str:
    return wall_ns_to_iso(ns)


def record(index: Index, camera: str, start_ns: int, seconds: list[int], end_reason: str | None,
           size_bytes: int = MB) -> list[int]:
    """A run of back-to-back segments of the given lengths, as the recorder would index them."""
    with index.transaction() as c:
        if c.execute("SELECT 1 FROM storage_dir WHERE id = 1").fetchone() is None:
            c.execute("INSERT INTO storage_dir (id, path, dir_uuid) VALUES (1, '/r', 'u')")
    run = index.start_run(camera, "main", start_ns, "h264")
    ids, t = [], start_ns
    for seq, length in enumerate(seconds):
        seg = index.open_segment(NewSegment(camera, "main", run, seq, 1, f"{camera}/{run}-{seq}.mp4", t, 0,
                                            "h264", 320, 240))
        index.complete_segment(seg, FinishedSegment(t + length * S, length * 90_000, length * 15, length, size_bytes,
                                                    "0" * 64, "duration"))
        ids.append(seg)
        t += length * S
    if end_reason is not None:
        index.end_run(run, t, end_reason)
    return ids
