"""What the playback path needs of recorded segment files: where the init section and each complete
fragment lie, and when each fragment was recorded (core/hls_playlist.RecordedFile).

Reading a file's fragment headers costs a few small reads per fragment; the answers are kept in a
bounded cache keyed by the file's path, size and modification time, so a complete segment is read
once however often it is played or hovered, and a segment being written is read again as it grows.
Blocking file reads: call from a worker thread."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

from vigil.clips.boxes import ClipSourceError
from vigil.clips.segment_file import read_segment_file
from vigil.core.hls_playlist import RecordedFile, RecordedFragment
from vigil.core.timebase import ticks_to_ns
from vigil.store.index import Index
from vigil.store.rows import SegmentRow

log = logging.getLogger(__name__)
MAX_CACHED_FILES = 2048  # ~2 days of one camera's 60 s segments; ~100 bytes per fragment


class RecordedFileCache:
    def __init__(self, max_files: int = MAX_CACHED_FILES) -> None:
        self._max = max_files
        self._files: OrderedDict[tuple[str, int, int, int], RecordedFile] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, row: SegmentRow, path: Path) -> RecordedFile | None:
        """The file's complete fragments; None when it has none yet (just opened) or is gone."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        key = (str(path), st.st_size, st.st_mtime_ns, row.start_wall_ns)
        with self._lock:
            found = self._files.get(key)
            if found is not None:
                self._files.move_to_end(key)
                return found
        try:
            segment = read_segment_file(path)
        except (ClipSourceError, FileNotFoundError) as error:
            if row.state == "open":
                return None
            raise ClipSourceError(f"segment {row.id} ({row.path}): {error}") from error
        if not segment.fragments:
            return None
        recorded = RecordedFile(row.id, len(segment.ftyp) + len(segment.moov), tuple(
            RecordedFragment(f.offset, len(f.moof) + f.mdat_size_bytes,
                             row.start_wall_ns + ticks_to_ns(f.info.decode_start_90k),
                             ticks_to_ns(f.info.duration_90k), f.info.starts_with_sync)
            for f in segment.fragments))
        with self._lock:
            self._files[key] = recorded
            while len(self._files) > self._max:
                self._files.popitem(last=False)
        return recorded


def recorded_files(index: Index, cache: RecordedFileCache, camera_id: str, start_ns: int, end_ns: int
                   ) -> list[tuple[SegmentRow, Path, RecordedFile]]:
    """The camera's segments overlapping [start, end) (the one being written too), oldest first,
    with their complete fragments. A segment retention removed meanwhile is left out."""
    dirs = index.storage_dir_paths()
    out = []
    for row in index.segments(camera_id, start_ns, end_ns, state=None):
        path = dirs[row.dir_id] / row.path
        recorded = cache.read(row, path)
        if recorded is not None:
            out.append((row, path, recorded))
        else:
            log.debug("playback of %s skips segment %d: no complete fragment on disk", camera_id, row.id)
    return out
