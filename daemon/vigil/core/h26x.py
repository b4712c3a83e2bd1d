"""Just enough H.264/H.265 bitstream knowledge to handle parameter sets without decoding."""

from __future__ import annotations

from collections.abc import Iterator

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
