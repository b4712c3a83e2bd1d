"""Just enough H.264/H.265 bitstream knowledge to handle parameter sets without decoding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vigil.core.media import Codec

_H264_PARAMETER_SETS = frozenset({7, 8})  # SPS, PPS
_H265_PARAMETER_SETS = frozenset({32, 33, 34})  # VPS, SPS, PPS
_START_CODE = b"\x00\x00\x00\x01"


def iter_nal_units(annexb: bytes) -> Iterator[bytes]:
    """The NAL units (without start codes) of an Annex-B byte string."""
    length = len(annexb)
    starts: list[tuple[int, int]] = []  # (start-code position, payload position)
    i = annexb.find(b"\x00\x00\x01")
    while i != -1:
        code_at = i - 1 if i > 0 and annexb[i - 1] == 0 else i
        starts.append((code_at, i + 3))
        i = annexb.find(b"\x00\x00\x01", i + 3)
    for n, (_, payload_at) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else length
        # Trailing zero bytes belong to the next start code, not this unit.
        while end > payload_at and annexb[end - 1] == 0 and n + 1 < len(starts):
            end -= 1
        if end > payload_at:
            yield annexb[payload_at:end]


def nal_type(codec: Codec, nal: bytes) -> int:
    if not nal:
        return -1
    if codec is Codec.H264:
        return nal[0] & 0x1F
    return (nal[0] >> 1) & 0x3F


def _is_parameter_set(codec: Codec, kind: int) -> bool:
    sets = _H264_PARAMETER_SETS if codec is Codec.H264 else _H265_PARAMETER_SETS
    return kind in sets


def parameter_sets(codec: Codec, access_unit: bytes) -> bytes:
    """The distinct parameter-set NAL units of an access unit as Annex-B, in stream order ("" if none).

    Some encoders repeat the whole set inside one access unit; a repeated copy is dropped (an
    MP4 sample entry with duplicate parameter sets does not decode)."""
    found: dict[bytes, None] = {}
    for nal in iter_nal_units(access_unit):
        if _is_parameter_set(codec, nal_type(codec, nal)):
            found.setdefault(nal, None)
    return b"".join(_START_CODE + nal for nal in found)


def template_access_unit(codec: Codec, extradata: bytes, keyframe: bytes) -> bytes:
    """The bytes a segment's sample entry is made from: each distinct parameter set once (those of
    `extradata`, then any other the keyframe carries), then the keyframe without its own.

    FFmpeg's raw demuxer keeps every copy it reads in the `avcC`/`hvcC` it derives, so extradata +
    a keyframe that repeats the sets (cameras send them before every IDR, some twice before the
    first) gave sample entries with each set two or three times (issue 12, #12)."""
    sets = parameter_sets(codec, extradata + keyframe)
    rest = b"".join(_START_CODE + nal for nal in iter_nal_units(keyframe)
                    if not _is_parameter_set(codec, nal_type(codec, nal)))
    return sets + rest


def updated_parameter_sets(codec: Codec, current: bytes, in_band: bytes) -> bytes | None:
    """The parameter sets (Annex-B) to record with after a keyframe carrying `in_band` (its
    distinct sets, as `parameter_sets` gives them), or None when what decodes is unchanged.

    Compared as sets of NAL units, not as bytes: the same sets in another order, repeated, or only
    some of them (a camera sending the PPS alone before an IDR) change nothing. Sets of a kind the
    keyframe carries replace the current ones of that kind; the other kinds are kept, so a partial
    in-band set never loses the SPS (or VPS) the next segment's sample entry needs."""
    if not in_band:
        return None
    new = list(dict.fromkeys(nal.rstrip(b"\x00") for nal in iter_nal_units(in_band)))
    old = list(dict.fromkeys(nal.rstrip(b"\x00") for nal in iter_nal_units(current)))
    kinds = {nal_type(codec, nal) for nal in new}
    merged = [nal for nal in old if nal_type(codec, nal) not in kinds] + new
    if set(merged) == set(old):
        return None
    return b"".join(_START_CODE + nal for nal in merged)


def has_complete_parameter_sets(codec: Codec, annexb: bytes) -> bool:
    """True when the bytes hold an SPS and a PPS (and a VPS for H.265)."""
    kinds = {nal_type(codec, nal) for nal in iter_nal_units(annexb)}
    needed = _H264_PARAMETER_SETS if codec is Codec.H264 else _H265_PARAMETER_SETS
    return needed <= kinds


def with_parameter_sets(codec: Codec, access_unit: bytes, extradata: bytes) -> bytes:
    """The access unit with `extradata` in front unless it already carries its own."""
    if has_complete_parameter_sets(codec, parameter_sets(codec, access_unit)):
        return access_unit
    return extradata + access_unit


# --- decoder configuration records (MP4 sample entries: avcC, hvcC) --------------------------------


@dataclass(frozen=True)
class DecoderConfig:
    """What a decoder takes from an `avcC`/`hvcC` record, as a comparable value.

    Two records with equal values decode the same samples the same way, whatever their bytes:
    a muxer fed a template with the parameter sets repeated (the camera sends them before every
    IDR, and FFmpeg keeps every copy it sees) writes each set two or three times, and the last copy
    may carry the trailing zero byte of the next start code. So the value holds each distinct
    parameter set once, without trailing zero bytes (`trailing_zero_8bits`, never part of a NAL
    unit: its RBSP ends with a stop bit), and ignores their order and count; the fixed fields
    (profile, level, NAL length size, …) are kept as recorded."""

    kind: str  # "avcC" or "hvcC"
    fields: bytes  # the record's fixed fields before the parameter-set arrays
    parameter_sets: frozenset[bytes]
    complete_types: frozenset[int]  # hvcC: NAL types whose array says "all sets are here"
    extension: bytes  # avcC: what follows the PPS array (high-profile fields), as recorded


def _canonical_nal(nal: bytes) -> bytes:
    return nal.rstrip(b"\x00")


def _length_prefixed(record: bytes, at: int, count: int) -> tuple[list[bytes], int]:
    """`count` NAL units, each after a 16-bit length, from record[at:]; and the offset after them."""
    out = []
    for _ in range(count):
        if at + 2 > len(record):
            raise ValueError("decoder configuration record ends inside a parameter-set array")
        size = int.from_bytes(record[at:at + 2], "big")
        if at + 2 + size > len(record) or size == 0:
            raise ValueError("decoder configuration record has a parameter set past its end (or empty)")
        out.append(_canonical_nal(record[at + 2:at + 2 + size]))
        at += 2 + size
    return out, at


def decoder_config(kind: str, record: bytes) -> DecoderConfig:
    """Parse the payload of an `avcC` (ISO/IEC 14496-15 §5.3.3) or `hvcC` (§8.3.3) box.
    Raises ValueError for another kind or a malformed record."""
    if kind == "avcC":
        if len(record) < 7 or record[0] != 1:
            raise ValueError("not an AVCDecoderConfigurationRecord (version 1)")
        sps, at = _length_prefixed(record, 6, record[5] & 0x1F)
        if at >= len(record):
            raise ValueError("AVCDecoderConfigurationRecord without its PPS count")
        pps, at = _length_prefixed(record, at + 1, record[at])
        return DecoderConfig(kind, record[:5], frozenset(sps + pps), frozenset(), record[at:])
    if kind == "hvcC":
        if len(record) < 23 or record[0] != 1:
            raise ValueError("not an HEVCDecoderConfigurationRecord (version 1)")
        at, sets, complete = 23, list[bytes](), set[int]()
        for _ in range(record[22]):
            if at + 3 > len(record):
                raise ValueError("HEVCDecoderConfigurationRecord ends inside its array headers")
            if record[at] & 0x80:
                complete.add(record[at] & 0x3F)
            nals, at = _length_prefixed(record, at + 3, int.from_bytes(record[at + 1:at + 3], "big"))
            sets += nals
        if at != len(record):
            raise ValueError("HEVCDecoderConfigurationRecord has bytes after its arrays")
        return DecoderConfig(kind, record[:22], frozenset(sets), frozenset(complete), b"")
    raise ValueError(f"{kind!r} is not a decoder configuration record this code knows")
