"""Building an export package (blocking; runs on the export worker's thread).

The zip holds, in this order: the original segment files (`segments/<recording path>`), one
clip per camera (`<camera>.mp4`, when a clip source is given), then `manifest.json` and
`manifest.json.sig`. Entries are stored, not compressed (video does not compress, and a stored
entry is the file's exact bytes). Each file is hashed as it is written; a segment whose bytes
no longer match the SHA-256 taken when it was recorded fails the export instead of being signed."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vigil import __version__
from vigil.clips.clip import iter_clip_bytes, plan_from_segments
from vigil.config import Config
from vigil.core.errors import StorageError, VigilError
from vigil.core.evidence_manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    CameraInfo,
    ClipInfo,
    ExportFacts,
    FileInfo,
    Gap,
    SegmentInfo,
    build_manifest,
    canonical_json,
    find_gaps,
)
from vigil.exports.signing import public_info, sign
from vigil.record.storage import fsync_dir
from vigil.store.exports import ExportRow, ExportStore, Progress
from vigil.store.index import Index
from vigil.store.rows import SegmentRow

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
PACKAGE_OVERHEAD_BYTES = 1 << 20
GAP_EVENT_KINDS = frozenset({"camera_down", "gap"})


class ExportCancelledError(VigilError):
    """The daemon is stopping; the export did not finish."""


class ClipSource(Protocol):
    """One camera's player-friendly clip of [start, end) made from `segments` (stream-copied): what
    it holds (for the manifest, named `file_name`) and its bytes."""

    def __call__(self, camera_id: str, file_name: str, segments: Sequence[tuple[SegmentRow, Path]],
                 start_wall_ns: int, end_wall_ns: int) -> tuple[ClipInfo, Iterator[bytes]]: ...


@dataclass(frozen=True)
class Documents:
    """What a package carries besides video (an incident report's documents): files (name -> bytes),
    written after the clips and listed in the manifest's `files`, and more manifest members."""

    files: Mapping[str, bytes]
    members: Mapping[str, Any]


@dataclass(frozen=True)
class PlannedExport:
    cameras: tuple[CameraInfo, ...]
    segments: dict[str, list[SegmentRow]]  # camera id -> complete segments overlapping the range
    gaps: tuple[Gap, ...]
    open_segment_starts: dict[str, int]  # camera id -> start of its segment being written, if it overlaps

    @property
    def segment_bytes(self) -> int:
        return sum(s.size_bytes or 0 for rows in self.segments.values() for s in rows)

    @property
    def segment_count(self) -> int:
        return sum(len(rows) for rows in self.segments.values())

    def estimated_bytes(self, with_clips: bool) -> int:
        """Segments, plus clips no bigger than them, plus zip and manifest overhead."""
        return self.segment_bytes * (2 if with_clips else 1) + PACKAGE_OVERHEAD_BYTES


def plan_export(config: Config, index: Index, cameras: Sequence[str], start_wall_ns: int,
                end_wall_ns: int) -> PlannedExport:
    buildings = {b.id: b.name for b in config.buildings}
    infos, segments, gaps, still_open = [], {}, [], {}
    for camera_id in cameras:
        camera = next(c for c in config.cameras if c.id == camera_id)
        infos.append(CameraInfo(camera.id, camera.name, camera.building, buildings.get(camera.building, "")))
        rows = [s for s in index.segments(camera_id, start_wall_ns, end_wall_ns) if s.end_wall_ns is not None]
        segments[camera_id] = rows
        being_written = index.segments(camera_id, start_wall_ns, end_wall_ns, state="open")
        if being_written:
            still_open[camera_id] = min(s.start_wall_ns for s in being_written)
        events = [(e.wall_ns, e.reason) for e in index.events(camera_id) if e.kind in GAP_EVENT_KINDS]
        spans = [(s.start_wall_ns, s.end_wall_ns or s.start_wall_ns) for s in rows]
        gaps += find_gaps(camera_id, spans, events, start_wall_ns, end_wall_ns)
    return PlannedExport(tuple(infos), segments, tuple(gaps), still_open)


def exports_dir(config: Config) -> Path:
    """Packages live with the index (the system disk on an appliance), not on the recording disk,
    where they would eat the space retention keeps free and so push out footage."""
    return config.storage.path / "exports"


def check_space(directory: Path, needed_bytes: int, keep_free_bytes: int) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    free = shutil.disk_usage(directory).free
    if free - needed_bytes < keep_free_bytes:
        raise StorageError(f"not enough space for this export in {directory}: it needs about {needed_bytes} bytes,"
                           f" {free} are free and {keep_free_bytes} must stay free; export a shorter range or"
                           " fewer cameras, or delete old packages")


def package_name(export_id: int) -> str:
    return f"export-{export_id}.zip"


def _segment_info(s: SegmentRow) -> SegmentInfo:
    assert s.end_wall_ns is not None and s.sha256 is not None and s.size_bytes is not None
    return SegmentInfo(s.id, s.camera_id, s.run_id, s.seq, s.path, s.start_wall_ns, s.end_wall_ns,
                       s.media_start_90k, s.media_duration_90k or 0, s.frame_count or 0, s.size_bytes, s.sha256,
                       s.codec, s.width, s.height, s.recovered)


class PackageWriter:
    """Writes one package; `on_progress` is called after each file and every 64 MiB."""

    def __init__(self, config: Config, index: Index, key: Ed25519PrivateKey, clips: ClipSource | None,
                 stop: threading.Event, on_progress: Callable[[Progress], None]) -> None:
        self.config, self.index, self.key, self.clips = config, index, key, clips
        self.stop, self.on_progress = stop, on_progress
        self.files: list[FileInfo] = []
        self.progress = Progress(0, 0, 0, 0)

    def _advance(self, segments: int, size_bytes: int) -> None:
        p = self.progress
        self.progress = Progress(p.segments_total, p.segments_done + segments, p.bytes_total,
                                 min(p.bytes_total, p.bytes_done + size_bytes))

    def _add(self, zf: zipfile.ZipFile, name: str, chunks: Iterator[bytes]) -> FileInfo:
        digest, size, since_report = hashlib.sha256(), 0, 0
        with zf.open(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), "w", force_zip64=True) as out:
            for chunk in chunks:
                if self.stop.is_set():
                    raise ExportCancelledError("the appliance is stopping; the export was interrupted")
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                since_report += len(chunk)
                if since_report >= 64 * CHUNK_BYTES:
                    self._advance(0, since_report)
                    since_report = 0
                    self.on_progress(self.progress)
        self._advance(0, since_report)
        info = FileInfo(name, size, digest.hexdigest())
        self.files.append(info)
        return info

    @staticmethod
    def _read(f: BinaryIO) -> Iterator[bytes]:
        while chunk := f.read(CHUNK_BYTES):
            yield chunk

    def _add_segment(self, zf: zipfile.ZipFile, s: SegmentRow, path: Path) -> None:
        info = _segment_info(s)
        try:
            f = path.open("rb")
        except FileNotFoundError:
            raise VigilError(f"segment {s.path} was deleted (by retention?) while exporting; put an evidence hold"
                             " on the range and export again") from None
        with f:
            written = self._add(zf, info.package_name, self._read(f))
        if written.sha256 != info.sha256 or written.size_bytes != info.size_bytes:
            raise VigilError(f"segment {s.path} no longer matches what was recorded (SHA-256 {written.sha256},"
                             f" recorded {info.sha256}): the recording was altered on disk; not exporting it")
        self._advance(1, 0)
        self.on_progress(self.progress)

    def write(self, row: ExportRow, plan: PlannedExport, exporter: str, now_wall_ns: int,
              documents: Documents | None = None) -> tuple[str, int, str]:
        """Writes the package; returns (file name, size, manifest SHA-256)."""
        request = row.request
        directory = exports_dir(self.config)
        estimate = plan.estimated_bytes(self.clips is not None)
        check_space(directory, estimate, self.config.storage.min_free_bytes)
        self.progress = Progress(plan.segment_count, 0, estimate, 0)
        self.on_progress(self.progress)
        name = package_name(row.id)
        tmp = directory / f".{name}.tmp"
        clips: dict[str, ClipInfo] = {}
        dirs = self.index.storage_dir_paths()  # where each segment was written (not necessarily today's path)
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                for camera in plan.cameras:
                    for s in plan.segments[camera.id]:
                        self._add_segment(zf, s, dirs[s.dir_id] / s.path)
                for camera in plan.cameras:
                    if self.clips is not None and plan.segments[camera.id]:
                        clip, chunks = self.clips(camera.id, f"{camera.id}.mp4",
                                                  [(s, dirs[s.dir_id] / s.path) for s in plan.segments[camera.id]],
                                                  request.start_wall_ns, request.end_wall_ns)
                        self._add(zf, clip.file, chunks)
                        clips[camera.id] = clip
                for doc_name, data in sorted((documents.files if documents else {}).items()):
                    self._add(zf, doc_name, iter((data,)))
                public = public_info(self.key.public_key())
                facts = ExportFacts(row.id, ExportStore(self.index).appliance_id(), self.config.appliance.site_id,
                                    socket.gethostname(), exporter, request.reason, request.case_id,
                                    request.start_wall_ns, request.end_wall_ns, now_wall_ns, __version__, public.pem,
                                    public.fingerprint)
                segments = [_segment_info(s) for rows in plan.segments.values() for s in rows]
                manifest = canonical_json(build_manifest(facts, plan.cameras, segments, plan.gaps, self.files, clips,
                                                         documents.members if documents else None))
                zf.writestr(zipfile.ZipInfo(MANIFEST_NAME, date_time=(2000, 1, 1, 0, 0, 0)), manifest)
                zf.writestr(zipfile.ZipInfo(SIGNATURE_NAME, date_time=(2000, 1, 1, 0, 0, 0)), sign(self.key, manifest))
            with tmp.open("rb") as f:
                os.fsync(f.fileno())
            final = directory / name
            tmp.replace(final)
            fsync_dir(directory)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return name, final.stat().st_size, hashlib.sha256(manifest).hexdigest()


def clip_from_recordings(camera_id: str, file_name: str, segments: Sequence[tuple[SegmentRow, Path]],
                         start_wall_ns: int, end_wall_ns: int) -> tuple[ClipInfo, Iterator[bytes]]:
    """The ClipSource of the appliance: clips/clip.py's stream-copied clip of the segments."""
    plan = plan_from_segments(camera_id, list(segments), start_wall_ns, end_wall_ns)
    info = ClipInfo(file_name, plan.frame_count, plan.first_frame_wall_ns, plan.end_wall_ns, plan.stopped_at_wall_ns)
    return info, iter_clip_bytes(plan)
