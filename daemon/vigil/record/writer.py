"""Writing one segment: encoded packets remuxed (never decoded) into a fragmented MP4.

The moov is written first (empty_moov) and a fragment is flushed at every keyframe and at least
every second (frag_duration), so a file cut short by a crash is playable up to its last complete
fragment. Runs on the recorder's thread.

The output stream is created from a template: the segment's parameter sets and first keyframe
read by FFmpeg's raw H.264/H.265 demuxer. That yields correct codec parameters (sample entry,
width, height) without an encoder; `add_stream(codec)` would open a real encoder whose own
headers end up in the file."""

from __future__ import annotations

import hashlib
import io
import os
from fractions import Fraction
from pathlib import Path

import av

from vigil.core.h26x import template_access_unit
from vigil.core.media import Codec

TIME_BASE = Fraction(1, 90_000)
MUXER_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "frag_duration": "1000000",  # µs: a fragment at least every second, even with long GOPs
    "flush_packets": "1",  # hand each fragment to the OS at once (survives kill -9)
}


class SegmentWriter:
    """One open segment file. Timestamps given to `write` are relative to the segment start."""

    def __init__(self, path: Path, codec: Codec, extradata: bytes, first_keyframe: bytes) -> None:
        self.path = path
        template_bytes = template_access_unit(codec, extradata, first_keyframe)  # each parameter set once
        with av.open(io.BytesIO(template_bytes), format=codec.value) as template:
            source = template.streams.video[0]
            self.width = int(source.codec_context.width or 0)
            self.height = int(source.codec_context.height or 0)
            self._container = av.open(str(path), "w", format="mp4", options=MUXER_OPTIONS)
            stream = self._container.add_stream_from_template(source)
        stream.time_base = TIME_BASE
        if codec is Codec.H265:
            stream.codec_tag = "hvc1"  # the tag browsers and QuickTime accept
        self._stream = stream
        self.frame_count = 0
        self.keyframe_count = 0
        self.duration_90k = 0

    def write(self, data: bytes, pts_90k: int, dts_90k: int, duration_90k: int, is_keyframe: bool) -> None:
        packet = av.Packet(data)
        packet.stream = self._stream
        packet.time_base = TIME_BASE
        packet.pts = pts_90k
        packet.dts = dts_90k
        packet.duration = duration_90k
        packet.is_keyframe = is_keyframe
        self._container.mux(packet)
        self.frame_count += 1
        self.keyframe_count += int(is_keyframe)
        self.duration_90k = dts_90k + duration_90k

    def close(self) -> None:
        """Flush the last fragment and the index box, then fsync the file."""
        self._container.close()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def hash_file(path: Path) -> tuple[int, str]:
    """(size in bytes, SHA-256 hex) of a file as it is on disk."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
