"""`vigil fsck`: check that the index and the recordings agree, without changing anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vigil.record.fmp4 import Fmp4Error, scan_fmp4
from vigil.record.storage import META_NAME, read_meta
from vigil.record.writer import hash_file
from vigil.store.index import Index


@dataclass
class FsckReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    # Segments still being written, or left by a crash for the next start to recover.
    open_segments: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def fsck(index: Index) -> FsckReport:
    report = FsckReport()
    dirs = {int(r["id"]): (Path(r["path"]), str(r["dir_uuid"]))
            for r in index.conn.execute("SELECT id, path, dir_uuid FROM storage_dir")}
    db_uuid = str(index.conn.execute("SELECT db_uuid FROM meta").fetchone()[0])
    for root, dir_uuid in dirs.values():
        meta = read_meta(root) if root.is_dir() else None
        if (meta is None or meta != {"db_uuid": db_uuid, "dir_uuid": dir_uuid}):
            report.problems.append(f"{root}: {META_NAME} missing or not this index's")
    known: set[Path] = set()
    for seg in index.segments(state=None):
        root = dirs[seg.dir_id][0]
        path = root / seg.path
        known.add(path)
        if seg.state == "open":
            report.open_segments.append(seg.path)
            continue
        report.checked += 1
        if not path.is_file():
            report.problems.append(f"segment {seg.id} ({seg.path}): file missing")
            continue
        size, sha = hash_file(path)
        if size != seg.size_bytes:
            report.problems.append(f"segment {seg.id} ({seg.path}): {size} bytes on disk, index says {seg.size_bytes}")
        elif sha != seg.sha256:
            report.problems.append(f"segment {seg.id} ({seg.path}): SHA-256 differs from the one recorded")
        try:
            with path.open("rb") as f:
                scan = scan_fmp4(f)
        except Fmp4Error as error:
            report.problems.append(f"segment {seg.id} ({seg.path}): not a readable fMP4 ({error})")
            continue
        if scan.frame_count != seg.frame_count:
            report.problems.append(
                f"segment {seg.id} ({seg.path}): {scan.frame_count} frames in file, index says {seg.frame_count}")
    garbage = {dirs[g.dir_id][0] / g.path for g in index.garbage()}
    for root, _ in dirs.values():
        if not root.is_dir():
            continue
        for path in root.rglob("*.mp4"):
            if path not in known and path not in garbage:
                report.problems.append(f"{path}: file not in the index")
    return report
