"""MP4 boxes a clip needs, rewritten as bytes (pure: bytes in, bytes out).

Reading the boxes is core/mp4_boxes.py (the one reader, shared with recording's recovery and
fsck); this module adds what only clips do: summarize a segment's `moov` (parse_init), renumber
and cut `moof`s, and write the clip's own init segment. Anything not of the shape our segment
writer produces is refused with ClipSourceError (core's Mp4FormatError) rather than guessed at.

Segments recorded with record_audio have an audio track beside the video (track 1): a clip
carries it, each fragment's audio `tfdt` moved by the video's offset in the audio's own
timescale. A fragment cut short at the clip's end loses its audio run (at most one fragment,
about a second, of sound at the very end); the video decides what a clip holds.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass, replace

from vigil.core.errors import Mp4FormatError
from vigil.core.h26x import decoder_config
from vigil.core.mp4_boxes import Box, MoofInfo, boxes, child, mdhd_timescale, track_id, u32, video_trak

TRACK_TIMESCALE = 90_000

# The reader's error (core/mp4_boxes.py) under the name the clip code and its callers use.
ClipSourceError = Mp4FormatError


def make_box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _put_tfdt(out: bytearray, at: int, version: int, value: int) -> None:
    if version == 1:
        struct.pack_into(">Q", out, at, value)
    elif 0 <= value < 1 << 32:
        struct.pack_into(">I", out, at, value)
    else:
        raise ClipSourceError("clip longer than a 32-bit tfdt can express")


def scaled_offset(offset_90k: int, timescale: int) -> int:
    """A media-time offset in 90 kHz ticks in another track's timescale (rounded)."""
    return offset_90k if timescale == TRACK_TIMESCALE else (offset_90k * timescale + 45_000) // TRACK_TIMESCALE


def rewrite_moof(moof: bytes, info: MoofInfo, sequence: int, decode_start_90k: int,
                 keep_samples: int | None = None, timescales: dict[int, int] | None = None) -> bytes:
    """The moof with a new sequence number and tfdt, optionally cut after its first keep_samples.

    Other tracks' runs (audio; `timescales`: their track ID -> timescale) move with the video;
    a cut drops them."""
    out = bytearray(moof)
    struct.pack_into(">I", out, info.sequence_at, sequence)
    _put_tfdt(out, info.tfdt_at, info.tfdt_version, decode_start_90k)
    offset_90k = decode_start_90k - info.decode_start_90k
    for other in info.others:
        shift = scaled_offset(offset_90k, (timescales or {}).get(other.track_id, TRACK_TIMESCALE))
        _put_tfdt(out, other.tfdt_at, other.tfdt_version, other.decode_start + shift)
    count = len(info.sample_sizes)
    if keep_samples is None or keep_samples >= count:
        return bytes(out)
    if keep_samples < 1:
        raise ValueError("keep at least one sample")
    dropped = 0
    for other in sorted(info.others, key=lambda o: -o.traf_at):  # each after the video's traf
        if other.traf_at < info.trun_at:
            raise ClipSourceError("another track's run before the video's")
        del out[other.traf_at:other.traf_end]
        dropped += other.traf_end - other.traf_at
    struct.pack_into(">I", out, 0, u32(out, 0) - dropped)
    struct.pack_into(">i", out, info.data_offset_at, info.data_offset - dropped)
    info = replace(info, data_offset=info.data_offset - dropped)
    removed = (count - keep_samples) * info.entry_bytes
    cut = info.entries_at + keep_samples * info.entry_bytes
    out = out[:cut] + out[cut + removed:]
    for at in (0, info.traf_at, info.trun_at):  # moof, traf and trun all shrink by the same bytes
        struct.pack_into(">I", out, at, u32(out, at) - removed)
    struct.pack_into(">I", out, info.trun_at + 12, keep_samples)
    struct.pack_into(">i", out, info.data_offset_at, info.data_offset - removed)
    return bytes(out)


def shift_moof(moof: bytes, sequence_offset: int, decode_offset_90k: int,
               timescales: tuple[tuple[int, int], ...] = ()) -> bytes:
    """The moof (header included) with its sequence number and tfdt moved by offsets (`timescales`:
    (track ID, timescale) of tracks not in 90 kHz ticks, the audio's).

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
            scale = dict(timescales).get(u32(moof, child(moof, b, b"tfhd").payload + 4), TRACK_TIMESCALE)
            offset = scaled_offset(decode_offset_90k, scale)
            if moof[tfdt.payload] == 1:
                value = struct.unpack_from(">Q", moof, tfdt.payload + 4)[0] + offset
                struct.pack_into(">Q", out, tfdt.payload + 4, value)
            else:
                value = u32(moof, tfdt.payload + 4) + offset
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
    video_track_id: int = 1
    other_timescales: tuple[tuple[int, int], ...] = ()  # (track ID, timescale) of the others (audio)


@functools.lru_cache(maxsize=256)  # a camera's segments mostly share one moov: parse it once
def parse_init(moov: bytes) -> InitInfo:
    """Check a whole `moov` box describes one fragmented video track (and maybe audio beside it)
    and summarize it."""
    top = boxes(moov)
    if len(top) != 1 or top[0].kind != b"moov":
        raise ClipSourceError("not a moov box")
    moov_box = top[0]
    traks = [b for b in boxes(moov, moov_box.payload, moov_box.end) if b.kind == b"trak"]
    video = video_trak(moov, moov_box)
    others = tuple((track_id(moov, t), mdhd_timescale(moov, child(moov, child(moov, t, b"mdia"), b"mdhd")))
                   for t in traks if t != video)
    mdia = child(moov, video, b"mdia")
    mdhd = child(moov, mdia, b"mdhd")
    timescale = mdhd_timescale(moov, mdhd)
    stsd = child(moov, child(moov, child(moov, mdia, b"minf"), b"stbl"), b"stsd")
    entries = boxes(moov, stsd.payload + 8, stsd.end)
    if len(entries) != 1:
        raise ClipSourceError("expected one sample entry")
    entry = entries[0]
    width, height = struct.unpack_from(">HH", moov, entry.payload + 24)
    video_id = track_id(moov, video)
    trexes = [b for b in boxes(moov, *_payload(child(moov, moov_box, b"mvex"))) if b.kind == b"trex"]
    trex = next((t for t in trexes if u32(moov, t.payload + 4) == video_id), None)
    if trex is None:
        raise ClipSourceError("no trex for the video track")
    default_flags = u32(moov, trex.payload + 20)
    return InitInfo(int(timescale), sample_entry_key(moov, entry), entry.kind.decode(errors="replace"),
                    int(width), int(height), default_flags, video_id, others)


def _payload(box: Box) -> tuple[int, int]:
    return box.payload, box.end


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
