"""A recorded keyframe as a small JPEG: the fragment holding it is decoded with PyAV, the moment a
timeline asks (hovering), and the answers are kept in a bounded cache. Blocking: worker threads."""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from pathlib import Path

import av

from vigil.core.errors import NotFoundError
from vigil.core.hls_playlist import RecordedFile, RecordedFragment
from vigil.ingest.snapshot import frame_jpeg

THUMBNAIL_WIDTH = 320
MAX_CACHED_THUMBNAILS = 512  # ~10 kB each at 320 px


def fragment_jpeg(path: Path, file: RecordedFile, fragment: RecordedFragment, width: int = THUMBNAIL_WIDTH) -> bytes:
    """The first frame of the fragment (a keyframe), scaled to `width` pixels wide, as JPEG."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.pread(fd, file.init_size_bytes, 0) + os.pread(fd, fragment.size_bytes, fragment.offset)
    finally:
        os.close(fd)
    with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
        frame = next((f for f in container.decode(video=0) if isinstance(f, av.VideoFrame)), None)
    if frame is None:
        raise NotFoundError("the recorded keyframe could not be decoded")
    return frame_jpeg(frame, width)


class ThumbnailCache:
    """Decoded thumbnails by (segment, fragment offset, file size): least recently used go first."""

    def __init__(self, max_items: int = MAX_CACHED_THUMBNAILS) -> None:
        self._max = max_items
        self._items: OrderedDict[tuple[int, int, str], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.decoded = 0  # how many were decoded (not served from the cache): for tests and benches

    def jpeg(self, path: Path, file: RecordedFile, fragment: RecordedFragment) -> bytes:
        key = (file.segment_id, fragment.offset, str(path))
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        jpeg = fragment_jpeg(path, file, fragment)
        with self._lock:
            self.decoded += 1
            self._items[key] = jpeg
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return jpeg
