"""Reading the MP4 boxes our segment writer produces (pure: bytes in, values out).

The one reader of `moof`/`traf` [`tfhd`, `tfdt`, `trun`] used by recording's recovery and fsck
(record/fmp4.py) and by clips (clips/boxes.py, clips/segment_file.py). It knows the shape
record/writer.py writes: a video track (track 1) and, with record_audio, an audio track after it;
fragments of `moof` [`mfhd`, one `traf` per track [`tfhd` with default-base-is-moof, `tfdt`, one
`trun` with a data offset]] followed by their `mdat` (the video's samples first). Readers pick the
video track by its handler (`track_ids`); the other tracks' samples count for the mdat's size.
Anything else is refused with Mp4FormatError rather than guessed at."""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from vigil.core.errors import Mp4FormatError

NON_SYNC_SAMPLE = 0x00010000  # sample_is_non_sync_sample in the sample flags
_TFHD_BASE_DATA_OFFSET, _TFHD_DURATION, _TFHD_SIZE, _TFHD_FLAGS = 0x1, 0x8, 0x10, 0x20
_TFHD_SAMPLE_DESCRIPTION = 0x2
_TFHD_BASE_IS_MOOF = 0x20000
_TRUN_DATA_OFFSET, _TRUN_FIRST_FLAGS = 0x1, 0x4
_TRUN_DURATION, _TRUN_SIZE, _TRUN_FLAGS, _TRUN_CTO = 0x100, 0x200, 0x400, 0x800


def box_header(head: bytes, room_bytes: int) -> tuple[bytes, int, int] | None:
    """(type, header bytes, box bytes) of the box whose first bytes (up to 16) are `head` and which
    may take at most `room_bytes` (a size-0 box takes all of it); None when it is cut short."""
    if len(head) < 8:
        return None
    size, kind = struct.unpack_from(">I4s", head)
    header = 8
    if size == 1:
        if len(head) < 16:
            return None
        size, header = struct.unpack_from(">Q", head, 8)[0], 16
    elif size == 0:
        size = room_bytes
    if size < header or size > room_bytes:
        return None
    return kind, header, int(size)


@dataclass(frozen=True)
class Box:
    kind: bytes
    start: int  # offset of the size field
    payload: int  # offset of the payload
    end: int


def leading_boxes(data: bytes, start: int = 0, end: int | None = None) -> list[Box]:
    """The whole boxes from data[start] on, up to `end`; stops at one cut short (the lenient walk,
    for files a crash may have cut short). Boxes are contiguous: each starts where the last ended."""
    end = len(data) if end is None else end
    out, i = [], start
    while (found := box_header(data[i:min(i + 16, end)], end - i)) is not None:
        kind, header, size = found
        out.append(Box(kind, i, i + header, i + size))
        i += size
    return out


def box_spans(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """(type, payload offset, box end) of the whole boxes in data[start:end] (leading_boxes)."""
    return [(b.kind, b.payload, b.end) for b in leading_boxes(data, start, end)]


def boxes(data: bytes, start: int = 0, end: int | None = None) -> list[Box]:
    """The boxes in data[start:end]; raises Mp4FormatError on a truncated or malformed one."""
    end = len(data) if end is None else end
    out = leading_boxes(data, start, end)
    i = out[-1].end if out else start
    if i != end:
        raise Mp4FormatError(f"box at {i} is truncated or overruns its parent (which ends at {end})")
    return out


def child(data: bytes, parent: Box, kind: bytes) -> Box:
    for b in boxes(data, parent.payload, parent.end):
        if b.kind == kind:
            return b
    raise Mp4FormatError(f"{parent.kind.decode(errors='replace')} has no {kind.decode()}")


def u32(data: bytes | bytearray, at: int) -> int:
    return int(struct.unpack_from(">I", data, at)[0])


def mdhd_timescale(data: bytes, mdhd: Box) -> int:
    """The track timescale an `mdhd` box holds (version 0 or 1)."""
    return u32(data, mdhd.payload + (20 if data[mdhd.payload] == 1 else 12))


def handler_type(data: bytes, trak: Box) -> bytes:
    """The `hdlr` handler type of a `trak` (b"vide", b"soun", …)."""
    hdlr = child(data, child(data, trak, b"mdia"), b"hdlr")
    return data[hdlr.payload + 8:hdlr.payload + 12]


def track_id(data: bytes, trak: Box) -> int:
    tkhd = child(data, trak, b"tkhd")
    return u32(data, tkhd.payload + (20 if data[tkhd.payload] == 1 else 12))


def video_trak(data: bytes, moov: Box) -> Box:
    """The one video `trak` of a moov (by its handler); other tracks (audio) may sit beside it."""
    video = [b for b in boxes(data, moov.payload, moov.end) if b.kind == b"trak" and handler_type(data, b) == b"vide"]
    if len(video) != 1:
        raise Mp4FormatError(f"{len(video)} video tracks; a segment has exactly one")
    return video[0]


@dataclass(frozen=True)
class OtherTraf:
    """A fragment's run of another track (audio): what a clip shifts or drops."""

    track_id: int
    traf_at: int
    traf_end: int
    tfdt_at: int
    tfdt_version: int
    decode_start: int  # in that track's timescale
    data_bytes: int


@dataclass(frozen=True)
class MoofInfo:
    """One `moof`: its samples, and where a rewrite finds its fields (offsets within its bytes)."""

    size_bytes: int
    sequence_at: int
    tfdt_at: int
    tfdt_version: int
    decode_start_90k: int  # tfdt, in the track timescale (90 kHz in our files)
    traf_at: int
    trun_at: int
    entries_at: int  # first per-sample trun entry
    entry_bytes: int
    data_offset_at: int
    data_offset: int
    sample_durations_90k: tuple[int, ...]
    sample_sizes: tuple[int, ...]
    starts_with_sync: bool
    sync_sample_count: int
    others: tuple[OtherTraf, ...] = ()  # the other tracks' runs (audio), in file order

    @property
    def duration_90k(self) -> int:
        return sum(self.sample_durations_90k)

    @property
    def data_bytes(self) -> int:
        """What the video's samples take in the `mdat` after the moof."""
        return sum(self.sample_sizes)

    @property
    def all_data_bytes(self) -> int:
        """What every track's samples take in the `mdat`."""
        return self.data_bytes + sum(o.data_bytes for o in self.others)


def parse_moof(moof: bytes, default_sample_flags: int = 0, video_track_id: int = 1) -> MoofInfo:
    """Parse a whole `moof` box (header included): the video track's run, the others' summed up.
    default_sample_flags: the moov's trex value for the video track."""
    top = boxes(moof)
    if len(top) != 1 or top[0].kind != b"moof" or top[0].payload != 8:
        raise Mp4FormatError("not a single moof box with a 32-bit size")
    kids = boxes(moof, 8, len(moof))
    mfhd = [b for b in kids if b.kind == b"mfhd"]
    trafs = [b for b in kids if b.kind == b"traf"]
    if len(mfhd) != 1 or not trafs:
        raise Mp4FormatError("a fragment must have one mfhd and a traf")
    video = [t for t in trafs if u32(moof, child(moof, t, b"tfhd").payload + 4) == video_track_id]
    if len(video) > 1:
        raise Mp4FormatError(f"a fragment must have at most one traf of the video track ({video_track_id})")
    # Without a video run (the muxer flushed audio alone: its fragment-duration limit came first),
    # the video's fields are the first run's and it has no video samples.
    info = _parse_traf(moof, video[0] if video else trafs[0], default_sample_flags, mfhd[0])
    if not video:
        info = replace(info, sample_durations_90k=(), sample_sizes=(), starts_with_sync=False, sync_sample_count=0)
    others = []
    for traf in trafs:
        if not video or traf is not video[0]:
            other = _parse_traf(moof, traf, 0, mfhd[0])
            others.append(OtherTraf(u32(moof, child(moof, traf, b"tfhd").payload + 4), traf.start, traf.end,
                                    other.tfdt_at, other.tfdt_version, other.decode_start_90k, other.data_bytes))
    return replace(info, others=tuple(others))


def _parse_traf(moof: bytes, traf: Box, default_sample_flags: int, mfhd: Box) -> MoofInfo:
    parts = boxes(moof, traf.payload, traf.end)
    by_kind = {b.kind: b for b in parts}
    if set(by_kind) < {b"tfhd", b"tfdt", b"trun"} or sum(b.kind == b"trun" for b in parts) != 1:
        raise Mp4FormatError("a traf must have tfhd, tfdt and exactly one trun")
    tfhd, tfdt, trun = by_kind[b"tfhd"], by_kind[b"tfdt"], by_kind[b"trun"]
    if traf.payload - traf.start != 8 or trun.payload - trun.start != 8:
        raise Mp4FormatError("64-bit traf/trun sizes are not expected")
    # tfhd: defaults, and the fragment must be position independent (offsets from the moof).
    flags = u32(moof, tfhd.payload) & 0xFFFFFF
    if flags & _TFHD_BASE_DATA_OFFSET or not flags & _TFHD_BASE_IS_MOOF:
        raise Mp4FormatError("fragments must use default-base-is-moof without a base data offset")
    pos = tfhd.payload + 8 + (4 if flags & _TFHD_SAMPLE_DESCRIPTION else 0)
    default_duration = default_size = 0
    default_flags = default_sample_flags
    if flags & _TFHD_DURATION:
        default_duration, pos = u32(moof, pos), pos + 4
    if flags & _TFHD_SIZE:
        default_size, pos = u32(moof, pos), pos + 4
    if flags & _TFHD_FLAGS:
        default_flags = u32(moof, pos)
    version = moof[tfdt.payload]
    decode_start = struct.unpack_from(">Q" if version == 1 else ">I", moof, tfdt.payload + 4)[0]
    # trun: one entry per sample.
    flags = u32(moof, trun.payload) & 0xFFFFFF
    if not flags & _TRUN_DATA_OFFSET:
        raise Mp4FormatError("trun without a data offset")
    count = u32(moof, trun.payload + 4)
    data_offset_at = trun.payload + 8
    data_offset = struct.unpack_from(">i", moof, data_offset_at)[0]
    pos = data_offset_at + 4
    first_flags = None
    if flags & _TRUN_FIRST_FLAGS:
        first_flags, pos = u32(moof, pos), pos + 4
    fields = [bit for bit in (_TRUN_DURATION, _TRUN_SIZE, _TRUN_FLAGS, _TRUN_CTO) if flags & bit]
    entry = 4 * len(fields)
    if pos + entry * count != trun.end:
        raise Mp4FormatError("trun size does not match its sample count")
    durations, sizes, syncs = [], [], []
    for n in range(count):
        values = dict(zip(fields, struct.unpack_from(f">{len(fields)}I", moof, pos + n * entry), strict=True))
        durations.append(values.get(_TRUN_DURATION, default_duration))
        sizes.append(values.get(_TRUN_SIZE, default_size))
        sample_flags = first_flags if n == 0 and first_flags is not None else values.get(_TRUN_FLAGS, default_flags)
        syncs.append(not sample_flags & NON_SYNC_SAMPLE)
    return MoofInfo(
        size_bytes=len(moof), sequence_at=mfhd.payload + 4, tfdt_at=tfdt.payload + 4, tfdt_version=version,
        decode_start_90k=int(decode_start), traf_at=traf.start, trun_at=trun.start, entries_at=pos,
        entry_bytes=entry, data_offset_at=data_offset_at, data_offset=data_offset,
        sample_durations_90k=tuple(durations), sample_sizes=tuple(sizes), starts_with_sync=bool(syncs and syncs[0]),
        sync_sample_count=sum(syncs))


def moof_decode_start(moof: bytes) -> int:
    """The tfdt of a whole moof box (its first sample's decode time)."""
    top = boxes(moof)
    if len(top) != 1 or top[0].kind != b"moof":
        raise Mp4FormatError("expected a moof box")
    tfdt = child(moof, child(moof, top[0], b"traf"), b"tfdt")  # the first: the video's (track 1)
    return int(struct.unpack_from(">Q" if moof[tfdt.payload] == 1 else ">I", moof, tfdt.payload + 4)[0])
