"""Reading a segment file's headers: ftyp, moov and every complete fragment's moof, never the media.

A fragment counts when its moof and the whole of its mdat are on disk, so a segment still being
written (or cut short by a crash) yields exactly its complete fragments. A fragment holding only
audio (record_audio: the muxer flushes one when the audio's run reaches a second first, mostly a
segment's last audio frame) is not among them: clips and playback are cut by the video's frames."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vigil.clips.boxes import ClipSourceError, InitInfo, parse_init
from vigil.core.mp4_boxes import MoofInfo, box_header, leading_boxes, moof_decode_start, parse_moof

_MAX_HEADER_BOX = 64 << 20  # a moov or moof this big is not one of ours


@dataclass(frozen=True)
class FileFragment:
    offset: int  # of the moof in the file
    moof: bytes
    info: MoofInfo
    mdat_header_bytes: int
    mdat_size_bytes: int  # whole box

    @property
    def media_offset(self) -> int:
        return self.offset + len(self.moof) + self.mdat_header_bytes

    @property
    def media_bytes(self) -> int:
        return self.mdat_size_bytes - self.mdat_header_bytes


@dataclass(frozen=True)
class SegmentFile:
    ftyp: bytes
    moov: bytes
    init: InitInfo
    fragments: tuple[FileFragment, ...]


def _header(f: BinaryIO, offset: int, file_size: int) -> tuple[bytes, int, int] | None:
    """(kind, header bytes, box bytes) of the box at offset, None if it is not all on disk."""
    f.seek(offset)
    return box_header(f.read(16), file_size - offset)


def read_segment_file(path: Path) -> SegmentFile:
    with path.open("rb") as f:
        file_size = f.seek(0, 2)
        top: list[tuple[bytes, int, int, int]] = []
        offset = 0
        ftyp = moov = b""
        fragments: list[FileFragment] = []
        init: InitInfo | None = None
        pending: tuple[int, bytes, MoofInfo] | None = None
        while (found := _header(f, offset, file_size)) is not None:
            kind, header, size = found
            top.append((kind, offset, header, size))
            if kind in (b"ftyp", b"moov", b"moof"):
                if size > _MAX_HEADER_BOX:
                    raise ClipSourceError(f"{path.name}: {kind.decode()} box of {size} bytes")
                f.seek(offset)
                whole = f.read(size)
                if kind == b"ftyp":
                    ftyp = whole
                elif kind == b"moov":
                    moov, init = whole, parse_init(whole)
                else:
                    if init is None:
                        raise ClipSourceError(f"{path.name}: fragment before the moov")
                    pending = (offset, whole, parse_moof(whole, init.default_sample_flags, init.video_track_id))
            elif kind == b"mdat" and pending is not None:
                moof_offset, moof, info = pending
                video_misplaced = bool(info.sample_sizes) and info.data_offset != len(moof) + header
                if info.all_data_bytes > size - header or video_misplaced:
                    raise ClipSourceError(f"{path.name}: fragment at {moof_offset}: mdat does not hold its samples")
                if info.sample_sizes:  # a fragment of audio alone (record_audio) is left out of clips
                    fragments.append(FileFragment(moof_offset, moof, info, header, size))
                pending = None
            elif kind == b"mfra":
                break
            offset += size
    if not ftyp or init is None or [k for k, *_ in top[:2]] != [b"ftyp", b"moov"]:
        raise ClipSourceError(f"{path.name}: does not start with ftyp, moov")
    if init.timescale != 90_000:
        raise ClipSourceError(f"{path.name}: track timescale {init.timescale}, expected 90000")
    return SegmentFile(ftyp, moov, init, tuple(fragments))


@dataclass(frozen=True)
class SegmentSummary:
    """A complete segment's headers and where its fragments lie, without reading them all:
    the fragments are the bytes [fragments_start, fragments_end) (the closing mfra excluded)."""

    ftyp: bytes
    moov: bytes
    init: InitInfo
    fragments_start: int
    fragments_end: int
    first_decode_90k: int


_HEAD_BYTES = (4 << 10, 64 << 10)  # enough for ftyp + moov + first moof; the larger read if not


def read_segment_summary(path: Path, size_bytes: int) -> SegmentSummary | None:
    """Three small reads: the head (ftyp, moov, first moof) and the closing mfro. None when the
    file is not a complete segment of that size with an mfra (the caller then reads it whole)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if os.fstat(fd).st_size != size_bytes:
            return None
        for head_bytes in _HEAD_BYTES:
            head = os.pread(fd, head_bytes, 0)
            top = leading_boxes(head)  # a box cut by the buffer end stops it
            if [b.kind for b in top[:3]] == [b"ftyp", b"moov", b"moof"]:
                break
        else:
            return None
        ftyp, moov, moof = (head[b.start:b.end] for b in top[:3])
        init = parse_init(moov)
        first_decode_90k = moof_decode_start(moof)
        tail = os.pread(fd, 16, size_bytes - 16)
        if len(tail) != 16 or tail[4:8] != b"mfro":
            return None
        mfra_size = struct.unpack_from(">I", tail, 12)[0]
        mfra_at = size_bytes - mfra_size
        if not top[2].start <= mfra_at < size_bytes or os.pread(fd, 8, mfra_at)[4:8] != b"mfra":
            return None
    except ClipSourceError:
        return None
    finally:
        os.close(fd)
    if init.timescale != 90_000:
        return None
    return SegmentSummary(ftyp, moov, init, top[2].start, mfra_at, first_decode_90k)
