"""MP4 boxes a clip needs, rewritten as bytes (pure: bytes in, bytes out).

Reading the boxes is core/mp4_boxes.py (the one reader, shared with recording's recovery and
fsck); this module adds what only clips do: summarize a segment's `moov` (parse_init), renumber
and cut `moof`s, and write the clip's own init segment. Anything not of the shape our segment
writer produces is refused with ClipSourceError (core's Mp4FormatError) rather than guessed at.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass

from vigil.core.errors import Mp4FormatError
from vigil.core.h26x import decoder_config
from vigil.core.mp4_boxes import Box, MoofInfo, boxes, child, mdhd_timescale, u32

TRACK_TIMESCALE = 90_000

# The reader's error (core/mp4_boxes.py) under the name the clip code and its callers use.
ClipSourceError = Mp4FormatError


def make_box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


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
        struct.pack_into(">I", out, at, u32(out, at) - removed)
    struct.pack_into(">I", out, info.trun_at + 12, keep_samples)
    struct.pack_into(">i", out, info.data_offset_at, info.data_offset - removed)
    return bytes(out)


def shift_moof(moof: bytes, sequence_offset: int, decode_offset_90k: int) -> bytes:
    """The moof (header included) with its sequence number and tfdt moved by offsets.

    The cheap rewrite for fragments of whole segments, done while the clip is being sent."""
    out = bytearray(moof)
    top = boxes(moof)
    if len(top) != 1 or top[0].kind != b"moof":
        raise ClipSourceError("expected a moof box")
    for b in boxes(moof, top[0].payload, top[0].end):
        if b.kind == b"mfhd":
            struct.pack_into(">I", out, b.payload + 4, u32(moof, b.payload + 4) + sequence_offset)
        elif b.kind == b"traf":
            tfdt = child(moof, b, b"tfdt")
            if moof[tfdt.payload] == 1:
                value = struct.unpack_from(">Q", moof, tfdt.payload + 4)[0] + decode_offset_90k
                struct.pack_into(">Q", out, tfdt.payload + 4, value)
            else:
                value = u32(moof, tfdt.payload + 4) + decode_offset_90k
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
    timescale = mdhd_timescale(moov, mdhd)
    stsd = child(moov, child(moov, child(moov, mdia, b"minf"), b"stbl"), b"stsd")
    entries = boxes(moov, stsd.payload + 8, stsd.end)
    if len(entries) != 1:
        raise ClipSourceError("expected one sample entry")
    entry = entries[0]
    width, height = struct.unpack_from(">HH", moov, entry.payload + 24)
    trex = child(moov, child(moov, moov_box, b"mvex"), b"trex")
    default_flags = u32(moov, trex.payload + 20)
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
    movie_scale = u32(moov, mvhd.payload + (20 if moov[mvhd.payload] == 1 else 12))
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
