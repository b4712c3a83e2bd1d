"""Test helper: a real index and recordings dir with segments written by the recorder's own writer."""

from __future__ import annotations

import time
from pathlib import Path

from vigil.core.h26x import parameter_sets
from vigil.core.media import Codec
from vigil.core.mp4_boxes import boxes, child
from vigil.core.timebase import NS_PER_SECOND, ticks_to_ns
from vigil.record.storage import open_storage_dir
from vigil.record.writer import SegmentWriter, hash_file
from vigil.store.index import Index
from vigil.store.rows import FinishedSegment, NewSegment

Units = list[tuple[bytes, bool]]
FRAME = 6000  # 15 fps
T0 = 1_800_000_000 * NS_PER_SECOND


class Recordings:
    """A real index and recordings dir; segments written with the recorder's writer."""

    def __init__(self, tmp: Path, index: Index | None = None, camera_id: str = "cam") -> None:
        self.index = index or Index.open(tmp / "index.sqlite3", time.time_ns())
        with self.index.transaction() as c:
            self.storage = open_storage_dir(c, tmp / "rec", require_mount=False)
        self.camera_id = camera_id
        self.run = self.index.start_run(camera_id, "main", T0, "h264")
        self.seq = 0

    def add(self, start_wall_ns: int, units: Units, codec: Codec = Codec.H264, *, complete: bool = True,
            new_run: bool = False) -> Path:
        if new_run:
            self.run = self.index.start_run(self.camera_id, "main", start_wall_ns, codec.value)
        rel = f"{self.camera_id}/main/{self.run}-{self.seq:05d}.mp4"
        path = self.storage.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = SegmentWriter(path, codec, parameter_sets(codec, units[0][0]), units[0][0])
        seg_id = self.index.open_segment(NewSegment(self.camera_id, "main", self.run, self.seq, self.storage.id, rel,
                                                    start_wall_ns, 0, codec.value, writer.width, writer.height))
        self.seq += 1
        for n, (data, key) in enumerate(units):
            writer.write(data, n * FRAME, n * FRAME, FRAME, key)
        writer.close()
        if complete:
            size, sha = hash_file(path)
            self.index.complete_segment(seg_id, FinishedSegment(
                start_wall_ns + ticks_to_ns(len(units) * FRAME), len(units) * FRAME, len(units),
                sum(k for _, k in units), size, sha, "duration"))
        return path


def hvcc_copies(moov: bytes) -> dict[int, int]:
    """How many parameter sets each array of a segment's hvcC holds (NAL type -> count)."""
    moov_box = boxes(moov)[0]
    stbl = child(moov, child(moov, child(moov, child(moov, moov_box, b"trak"), b"mdia"), b"minf"), b"stbl")
    stsd = child(moov, stbl, b"stsd")
    entry = boxes(moov, stsd.payload + 8, stsd.end)[0]
    hvcc = next(b for b in boxes(moov, entry.payload + 78, entry.end) if b.kind == b"hvcC")
    record = moov[hvcc.payload:hvcc.end]
    counts, at = {}, 23
    for _ in range(record[22]):
        count = int.from_bytes(record[at + 1:at + 3], "big")
        counts[record[at] & 0x3F] = count
        at += 3
        for _ in range(count):
            at += 2 + int.from_bytes(record[at:at + 2], "big")
    return counts
