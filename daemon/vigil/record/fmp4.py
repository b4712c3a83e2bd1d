"""Reading back our own fragmented MP4 files: where the complete fragments end, and what is in them.

Used by crash recovery (to cut a segment after its last complete fragment) and by fsck. Knows
exactly the boxes our writer produces (one video track, default-base-is-moof fragments)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

_NON_SYNC = 0x00010000


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


class Fmp4Error(ValueError):
    """The file is not a fragmented MP4 this writer could have produced."""


def box_spans(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """(type, payload offset, box end) of the boxes in data[start:end]; stops at a truncated box.

    Boxes are contiguous: a box starts where the previous one ends (the first at `start`)."""
    end = len(data) if end is None else end
    out = []
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, i)
        header = 8
        if size == 1:
            if i + 16 > end:
                break
            size = struct.unpack_from(">Q", data, i + 8)[0]
            header = 16
        elif size == 0:
            size = end - i
        if size < header or i + size > end:
            break
        out.append((kind, i + header, i + size))
        i += size
    return out


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, s, e in box_spans(data, start, end):
        if k == kind:
            return s, e
    return None


def _timescale(moov: bytes) -> int:
    start, end = 0, len(moov)
    for kind in (b"trak", b"mdia", b"mdhd"):
        found = _child(moov, start, end, kind)
        if found is None:
            raise Fmp4Error("moov without trak/mdia/mdhd")
        start, end = found
    version = moov[start]
    return int(struct.unpack_from(">I", moov, start + (20 if version == 1 else 12))[0])


def _parse_moof(moof: bytes) -> tuple[int, int, int, int, int]:
    """(decode start, duration, samples, sync samples, data bytes) of a moof payload."""
    traf = _child(moof, 0, len(moof), b"traf")
    if traf is None:
        raise Fmp4Error("moof without traf")
    default_duration, default_size, default_flags = 0, 0, 0
    decode_start, duration, samples, syncs, data_bytes = 0, 0, 0, 0, 0
    for kind, s, _ in box_spans(moof, *traf):
        flags = int.from_bytes(moof[s + 1 : s + 4], "big")
        if kind == b"tfhd":
            pos = s + 8
            pos += 8 if flags & 0x1 else 0
            pos += 4 if flags & 0x2 else 0
            if flags & 0x8:
                default_duration = struct.unpack_from(">I", moof, pos)[0]
                pos += 4
            if flags & 0x10:
                default_size = struct.unpack_from(">I", moof, pos)[0]
                pos += 4
            if flags & 0x20:
                default_flags = struct.unpack_from(">I", moof, pos)[0]
        elif kind == b"tfdt":
            decode_start = struct.unpack_from(">Q" if moof[s] == 1 else ">I", moof, s + 4)[0]
        elif kind == b"trun":
            count = struct.unpack_from(">I", moof, s + 4)[0]
            pos = s + 8 + (4 if flags & 0x1 else 0)
            first_flags = None
            if flags & 0x4:
                first_flags = struct.unpack_from(">I", moof, pos)[0]
                pos += 4
            for n in range(count):
                d, size, sflags = default_duration, default_size, default_flags
                if flags & 0x100:
                    d = struct.unpack_from(">I", moof, pos)[0]
                    pos += 4
                if flags & 0x200:
                    size = struct.unpack_from(">I", moof, pos)[0]
                    pos += 4
                if flags & 0x400:
                    sflags = struct.unpack_from(">I", moof, pos)[0]
                    pos += 4
                if flags & 0x800:
                    pos += 4
                if n == 0 and first_flags is not None:
                    sflags = first_flags
                duration += d
                data_bytes += size
                syncs += 0 if sflags & _NON_SYNC else 1
            samples += count
    return decode_start, duration, samples, syncs, data_bytes


def scan_fmp4(f: BinaryIO) -> Fmp4Scan:
    """Scan a (possibly truncated) fragmented MP4. Raises Fmp4Error if it has no usable header."""
    data = f.read()
    top = box_spans(data)
    kinds = [k for k, _, _ in top]
    if kinds[:2] != [b"ftyp", b"moov"]:
        raise Fmp4Error("does not start with ftyp, moov")
    _, moov_start, moov_end = top[1]
    timescale = _timescale(data[moov_start:moov_end])
    fragments: list[Fragment] = []
    complete_end = moov_end
    has_index = False
    i = 2
    while i < len(top):
        kind, start, end = top[i]
        if kind == b"moof" and i + 1 < len(top) and top[i + 1][0] == b"mdat":
            decode_start, duration, samples, syncs, data_bytes = _parse_moof(data[start:end])
            mdat_start, mdat_end = top[i + 1][1], top[i + 1][2]
            if mdat_end - mdat_start < data_bytes:
                break
            offset = start - 8
            fragments.append(Fragment(offset, mdat_end - offset, decode_start, duration, samples, syncs))
            complete_end = mdat_end
            i += 2
        elif kind == b"mfra":
            has_index = True
            complete_end = end
            i += 1
        else:
            break
    return Fmp4Scan(len(data), timescale, tuple(fragments), complete_end, has_index)
