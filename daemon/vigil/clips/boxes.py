"""MP4 boxes a clip needs, read and rewritten as bytes (pure: bytes in, bytes out).

Knows the boxes our segment writer produces (record/writer.py): one video track, fragments of
`moof` [`mfhd`, `traf` [`tfhd` with default-base-is-moof, `tfdt`, one `trun` with data offset]]
followed by their `mdat`. Anything else is refused with ClipSourceError rather than guessed at.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass

from vigil.core.errors import VigilError
from vigil.core.h26x import decoder_config
from vigil.record.fmp4 import box_spans

_NON_SYNC = 0x00010000
_TFHD_BASE_DATA_OFFSET, _TFHD_DURATION, _TFHD_SIZE, _TFHD_FLAGS = 0x1, 0x8, 0x10, 0x20
_TFHD_SAMPLE_DESCRIPTION = 0x2
_TFHD_BASE_IS_MOOF = 0x20000
_TRUN_DATA_OFFSET, _TRUN_FIRST_FLAGS = 0x1, 0x4
_TRUN_DURATION, _TRUN_SIZE, _TRUN_FLAGS, _TRUN_CTO = 0x100, 0x200, 0x400, 0x800
TRACK_TIMESCALE = 90_000


class ClipSourceError(VigilError):
    """A segment file is not a fragmented MP4 of the shape our writer produces."""


@dataclass(frozen=True)
class Box:
    kind: bytes
    start: int  # offset of the size field
    payload: int  # offset of the payload
    end: int


def boxes(data: bytes, start: int = 0, end: int | None = None) -> list[Box]:
    """The boxes in data[start:end]; raises ClipSourceError on a truncated or malformed one."""
    end = len(data) if end is None else end
    out, i = [], start
    for kind, payload, box_end in box_spans(data, start, end):
        out.append(Box(kind, i, payload, box_end))
        i = box_end
    if i != end:
        raise ClipSourceError(f"box at {i} is truncated or overruns its parent (which ends at {end})")
    return out


def child(data: bytes, parent: Box, kind: bytes) -> Box:
    for b in boxes(data, parent.payload, parent.end):
        if b.kind == kind:
            return b
    raise ClipSourceError(f"{parent.kind.decode(errors='replace')} has no {kind.decode()}")


def make_box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _u32(data: bytes | bytearray, at: int) -> int:
    return int(struct.unpack_from(">I", data, at)[0])


@dataclass(frozen=True)
class MoofInfo:
    """What a clip needs from one `moof` (offsets are within the moof's bytes)."""

    size_bytes: int
    sequence_at: int
    tfdt_at: int
    tfdt_version: int
    decode_start_90k: int
    traf_at: int
    trun_at: int
    entries_at: int  # first per-sample trun entry
    entry_bytes: int
    data_offset_at: int
    data_offset: int
    sample_durations_90k: tuple[int, ...]
    sample_sizes: tuple[int, ...]
    starts_with_sync: bool


def parse_moof(moof: bytes, default_sample_flags: int = 0) -> MoofInfo:
    """Parse a whole `moof` box (header included). default_sample_flags: the moov's trex value."""
    top = boxes(moof)
    if len(top) != 1 or top[0].kind != b"moof" or top[0].payload != 8:
        raise ClipSourceError("not a single moof box with a 32-bit size")
    kids = boxes(moof, 8, len(moof))
    mfhd = [b for b in kids if b.kind == b"mfhd"]
    trafs = [b for b in kids if b.kind == b"traf"]
    if len(mfhd) != 1 or len(trafs) != 1:
        raise ClipSourceError("a fragment must have one mfhd and one traf (one track)")
    traf = trafs[0]
    parts = boxes(moof, traf.payload, traf.end)
    by_kind = {b.kind: b for b in parts}
    if set(by_kind) < {b"tfhd", b"tfdt", b"trun"} or sum(b.kind == b"trun" for b in parts) != 1:
        raise ClipSourceError("a traf must have tfhd, tfdt and exactly one trun")
    tfhd, tfdt, trun = by_kind[b"tfhd"], by_kind[b"tfdt"], by_kind[b"trun"]
    if traf.payload - traf.start != 8 or trun.payload - trun.start != 8:
        raise ClipSourceError("64-bit traf/trun sizes are not expected")
    # tfhd: defaults, and the fragment must be position independent (offsets from the moof).
    flags = _u32(moof, tfhd.payload) & 0xFFFFFF
    if flags & _TFHD_BASE_DATA_OFFSET or not flags & _TFHD_BASE_IS_MOOF:
        raise ClipSourceError("fragments must use default-base-is-moof without a base data offset")
    pos = tfhd.payload + 8 + (4 if flags & _TFHD_SAMPLE_DESCRIPTION else 0)
    default_duration = default_size = 0
    default_flags = default_sample_flags
    if flags & _TFHD_DURATION:
        default_duration, pos = _u32(moof, pos), pos + 4
    if flags & _TFHD_SIZE:
        default_size, pos = _u32(moof, pos), pos + 4
    if flags & _TFHD_FLAGS:
        default_flags = _u32(moof, pos)
    version = moof[tfdt.payload]
    decode_start = struct.unpack_from(">Q" if version == 1 else ">I", moof, tfdt.payload + 4)[0]
    # trun: one entry per sample.
    flags = _u32(moof, trun.payload) & 0xFFFFFF
    if not flags & _TRUN_DATA_OFFSET:
        raise ClipSourceError("trun without a data offset")
    count = _u32(moof, trun.payload + 4)
    data_offset_at = trun.payload + 8
    data_offset = struct.unpack_from(">i", moof, data_offset_at)[0]
    pos = data_offset_at + 4
    first_flags = None
    if flags & _TRUN_FIRST_FLAGS:
        first_flags, pos = _u32(moof, pos), pos + 4
    fields = [bit for bit in (_TRUN_DURATION, _TRUN_SIZE, _TRUN_FLAGS, _TRUN_CTO) if flags & bit]
    entry = 4 * len(fields)
    if pos + entry * count != trun.end:
        raise ClipSourceError("trun size does not match its sample count")
    durations, sizes = [], []
    sync_first = False
    for n in range(count):
        at = pos + n * entry
        values = dict(zip(fields, struct.unpack_from(f">{len(fields)}I", moof, at), strict=True))
        durations.append(values.get(_TRUN_DURATION, default_duration))
        sizes.append(values.get(_TRUN_SIZE, default_size))
        if n == 0:
            sample_flags = values.get(_TRUN_FLAGS, default_flags) if first_flags is None else first_flags
            sync_first = not sample_flags & _NON_SYNC
    return MoofInfo(
        size_bytes=len(moof), sequence_at=mfhd[0].payload + 4, tfdt_at=tfdt.payload + 4, tfdt_version=version,
        decode_start_90k=int(decode_start), traf_at=traf.start, trun_at=trun.start, entries_at=pos,
        entry_bytes=entry, data_offset_at=data_offset_at, data_offset=data_offset,
        sample_durations_90k=tuple(durations), sample_sizes=tuple(sizes), starts_with_sync=sync_first)


def rewrite_moof(moof: bytes, info: MoofInfo, sequence: int, decode_start_90k: int,
                 keep_samples: int | None = None) -> bytes:
    """The moof with a new sequence number and tfdt, optionally cut after its first keep_samples."""
    out = bytearray(moof)
    struct.pack_into(">I", out, info.sequence_at, sequence)
    if info.tfdt_version == 1:
        struct.pack_into(">Q", out, info.tfdt_at, decode_start_90k)
    elif decode_start_90k < 1 << 32:
        struct.pack_into(">I", out, info.tfdt_at, decode_start_90k)
    else:
        raise ClipSourceError("clip longer than a 32-bit tfdt can express")
    count = len(info.sample_sizes)
    if keep_samples is None or keep_samples >= count:
        return bytes(out)
    if keep_samples < 1:
        raise ValueError("keep at least one sample")
    removed = (count - keep_samples) * info.entry_bytes
    cut = info.entries_at + keep_samples * info.entry_bytes
    out = out[:cut] + out[cut + removed:]
    for at in (0, info.traf_at, info.trun_at):  # moof, traf and trun all shrink by the same bytes
        struct.pack_into(">I", out, at, _u32(out, at) - removed)
    struct.pack_into(">I", out, info.trun_at + 12, keep_samples)
    struct.pack_into(">i", out, info.data_offset_at, info.data_offset - removed)
    return bytes(out)


def moof_decode_start(moof: bytes) -> int:
    """The tfdt of a whole moof box (its first sample's decode time)."""
    top = boxes(moof)
    if len(top) != 1 or top[0].kind != b"moof":
        raise ClipSourceError("expected a moof box")
    tfdt = child(moof, child(moof, top[0], b"traf"), b"tfdt")
    return int(struct.unpack_from(">Q" if moof[tfdt.payload] == 1 else ">I", moof, tfdt.payload + 4)[0])


def shift_moof(moof: bytes, sequence_offset: int, decode_offset_90k: int) -> bytes:
    """The moof (header included) with its sequence number and tfdt moved by offsets.

    The cheap rewrite for fragments of whole segments, done while the clip is being sent."""
    out = bytearray(moof)
    top = boxes(moof)
    if len(top) != 1 or top[0].kind != b"moof":
        raise ClipSourceError("expected a moof box")
    for b in boxes(moof, top[0].payload, top[0].end):
        if b.kind == b"mfhd":
            struct.pack_into(">I", out, b.payload + 4, _u32(moof, b.payload + 4) + sequence_offset)
        elif b.kind == b"traf":
            tfdt = child(moof, b, b"tfdt")
            if moof[tfdt.payload] == 1:
                value = struct.unpack_from(">Q", moof, tfdt.payload + 4)[0] + decode_offset_90k
                struct.pack_into(">Q", out, tfdt.payload + 4, value)
            else:
                value = _u32(moof, tfdt.payload + 4) + decode_offset_90k
                if not 0 <= value < 1 << 32:
                    raise ClipSourceError("clip longer than a 32-bit tfdt can express")
                struct.pack_into(">I", out, tfdt.payload + 4, value)
    return bytes(out)


# --- the init segment (ftyp + moov) ----------------------------------------------------------------


@dataclass(frozen=True)
class InitInfo:
    timescale: int  # of the track
    codec_key: str  # equal keys: the same codec parameters, as a decoder sees them (sample_entry_key)
    codec_tag: str  # avc1, hvc1, …
    width: int
    height: int
    default_sample_flags: int  # from trex


@functools.lru_cache(maxsize=256)  # a camera's segments mostly share one moov: parse it once
def parse_init(moov: bytes) -> InitInfo:
    """Check a whole `moov` box describes one fragmented video track and summarize it."""
    top = boxes(moov)
    if len(top) != 1 or top[0].kind != b"moov":
        raise ClipSourceError("not a moov box")
    moov_box = top[0]
    traks = [b for b in boxes(moov, moov_box.payload, moov_box.end) if b.kind == b"trak"]
    if len(traks) != 1:
        raise ClipSourceError(f"{len(traks)} tracks; a segment has exactly one (video)")
    mdia = child(moov, traks[0], b"mdia")
    mdhd = child(moov, mdia, b"mdhd")
    timescale = _u32(moov, mdhd.payload + (20 if moov[mdhd.payload] == 1 else 12))
    stsd = child(moov, child(moov, child(moov, mdia, b"minf"), b"stbl"), b"stsd")
    entries = boxes(moov, stsd.payload + 8, stsd.end)
    if len(entries) != 1:
        raise ClipSourceError("expected one sample entry")
    entry = entries[0]
    width, height = struct.unpack_from(">HH", moov, entry.payload + 24)
    trex = child(moov, child(moov, moov_box, b"mvex"), b"trex")
    default_flags = _u32(moov, trex.payload + 20)
    return InitInfo(int(timescale), sample_entry_key(moov, entry), entry.kind.decode(errors="replace"),
                    int(width), int(height), default_flags)


_VISUAL_ENTRY_FIELDS = 78  # bytes of a VisualSampleEntry's own fields before its child boxes
_CONFIG_BOXES = frozenset({b"avcC", b"hvcC"})


def sample_entry_key(moov: bytes, entry: Box) -> str:
    """A hash of what a decoder takes from a video sample entry (`avc1`, `hvc1`, …): equal for
    entries that decode the same samples the same way.

    Every byte counts (codec, size, `pasp`, `colr`, …) except inside the `avcC`/`hvcC`, which counts
    as its distinct parameter sets and fixed fields (core.h26x.DecoderConfig): the recorder used to
    write the parameter sets two or three times depending on how many copies came with a segment's
    first keyframe, and such segments must still share one clip. An entry whose
    children or record cannot be parsed counts as its bytes (so it matches only itself)."""
    digest = hashlib.sha256(entry.kind)
    children_at = entry.payload + _VISUAL_ENTRY_FIELDS
    try:
        children = boxes(moov, children_at, entry.end)
        configs = [(b.kind, decoder_config(b.kind.decode(), moov[b.payload:b.end]))
                   for b in children if b.kind in _CONFIG_BOXES]
    except (ClipSourceError, ValueError):
        digest.update(b"bytes:" + moov[entry.start:entry.end])
        return digest.hexdigest()
    digest.update(moov[entry.payload:children_at])
    for b in children:
        if b.kind not in _CONFIG_BOXES:
            digest.update(moov[b.start:b.end])
    for kind, config in configs:
        digest.update(repr((kind, config.fields, sorted(config.parameter_sets), sorted(config.complete_types),
                            config.extension)).encode())
    return digest.hexdigest()


def _set_duration(data: bytearray, box: Box, v0_at: int, v1_at: int, value: int) -> None:
    if data[box.payload] == 1:
        struct.pack_into(">Q", data, box.payload + v1_at, value)
    else:
        struct.pack_into(">I", data, box.payload + v0_at, min(value, 0xFFFFFFFF))


def clip_init(ftyp: bytes, moov: bytes, duration_90k: int) -> bytes:
    """ftyp + a moov announcing the clip's duration (mvhd, tkhd and a new mvex/mehd)."""
    data = bytearray(moov)
    moov_box = boxes(moov)[0]
    kids = boxes(moov, moov_box.payload, moov_box.end)
    mvhd = next((b for b in kids if b.kind == b"mvhd"), None)
    if mvhd is None:
        raise ClipSourceError("moov without mvhd")
    movie_scale = _u32(moov, mvhd.payload + (20 if moov[mvhd.payload] == 1 else 12))
    movie_duration = (duration_90k * movie_scale + TRACK_TIMESCALE // 2) // TRACK_TIMESCALE
    _set_duration(data, mvhd, 16, 24, movie_duration)
    for trak in (b for b in kids if b.kind == b"trak"):
        _set_duration(data, child(moov, trak, b"tkhd"), 20, 28, movie_duration)
    mehd = make_box(b"mehd", struct.pack(">I", 1 << 24) + struct.pack(">Q", movie_duration))
    payload = bytearray()
    for b in kids:
        if b.kind == b"mvex":
            inner = b"".join(bytes(data[k.start:k.end]) for k in boxes(moov, b.payload, b.end) if k.kind != b"mehd")
            payload += make_box(b"mvex", mehd + inner)
        elif b.kind != b"udta":  # the muxer's own tag ("Lavf…"): not part of the evidence
            payload += data[b.start:b.end]
    return ftyp + make_box(b"moov", bytes(payload))
