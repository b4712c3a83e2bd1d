"""Reading back our own fragmented MP4 files: where the complete fragments end, and what is in them.

Used by crash recovery (to cut a segment after its last complete fragment) and by fsck. The
boxes are read by core/mp4_boxes.py (the reader clips use too), which knows exactly the boxes our
writer produces (default-base-is-moof fragments of a video track, and with record_audio an audio
track beside it). Frame counts and durations are the video track's; a fragment is complete when
its mdat holds every track's samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from vigil.core.errors import Mp4FormatError
from vigil.core.mp4_boxes import Box, box_spans, child, mdhd_timescale, parse_moof, track_id, video_trak

# The reader's error (core/mp4_boxes.py) under the name recovery and fsck use.
Fmp4Error = Mp4FormatError


@dataclass(frozen=True)
class Fragment:
    offset: int
    size_bytes: int  # moof + mdat
    decode_start: int  # tfdt, in the track timescale
    duration: int
    sample_count: int
    sync_count: int


@dataclass(frozen=True)
class Fmp4Scan:
    file_size_bytes: int
    timescale: int
    fragments: tuple[Fragment, ...]
    # End of the last complete fragment: truncating here keeps every complete fragment.
    complete_end: int
    has_index: bool  # the closing mfra box is present

    @property
    def frame_count(self) -> int:
        return sum(f.sample_count for f in self.fragments)

    @property
    def keyframe_count(self) -> int:
        return sum(f.sync_count for f in self.fragments)

    @property
    def duration(self) -> int:
        return sum(f.duration for f in self.fragments)


def _video_track(data: bytes, moov: Box) -> tuple[int, int]:
    """(track ID, timescale) of the video track."""
    trak = video_trak(data, moov)
    return track_id(data, trak), mdhd_timescale(data, child(data, child(data, trak, b"mdia"), b"mdhd"))


def scan_fmp4(f: BinaryIO) -> Fmp4Scan:
    """Scan a (possibly truncated) fragmented MP4. Raises Fmp4Error if it has no usable header."""
    data = f.read()
    top = box_spans(data)
    kinds = [k for k, _, _ in top]
    if kinds[:2] != [b"ftyp", b"moov"]:
        raise Fmp4Error("does not start with ftyp, moov")
    _, moov_start, moov_end = top[1]
    video_id, timescale = _video_track(data, Box(b"moov", moov_start - 8, moov_start, moov_end))
    fragments: list[Fragment] = []
    complete_end = moov_end
    has_index = False
    i = 2
    while i < len(top):
        kind, start, end = top[i]
        if kind == b"moof" and i + 1 < len(top) and top[i + 1][0] == b"mdat":
            offset = start - 8
            moof = parse_moof(data[offset:end], video_track_id=video_id)
            mdat_start, mdat_end = top[i + 1][1], top[i + 1][2]
            if mdat_end - mdat_start < moof.all_data_bytes:
                break
            fragments.append(Fragment(offset, mdat_end - offset, moof.decode_start_90k, moof.duration_90k,
                                      len(moof.sample_sizes), moof.sync_sample_count))
            complete_end = mdat_end
            i += 2
        elif kind == b"mfra":
            has_index = True
            complete_end = end
            i += 1
        else:
            break
    return Fmp4Scan(len(data), timescale, tuple(fragments), complete_end, has_index)
