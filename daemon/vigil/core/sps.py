"""What a sequence parameter set says about the pictures: size and B-frame reorder depth.

RTP carries presentation times only; the decode order's delay (how many pictures a decoder holds
back) is in the SPS: H.264's VUI `max_num_reorder_frames` (bitstream restriction, optional; x264
writes it), H.265's `sps_max_num_reorder_pics` (always there). The native ingest uses it so that
even a session's first B-frames get a right dts (core/decode_order.py), and the size for its
StreamInfo.

Rules:
- Input: one SPS NAL unit with its header, emulation prevention bytes still in (removed here).
- H.264 (ITU-T H.264 7.3.2.1.1 + E.1.1) and H.265 (7.3.2.2.1, 7.3.3) are read up to the fields
  named; `reorder_frames` is None when the H.264 SPS has no bitstream restriction. A baseline
  (profile 66) H.264 stream has no B-frames: 0 then.
- Anything truncated or out of range raises SpsError (a ValueError). Bounded: at most
  MAX_SPS_BYTES are read.
Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.h26x import iter_nal_units, nal_type
from vigil.core.media import Codec

MAX_SPS_BYTES = 4096
_MAX_UE_BITS = 31
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})
_SPS_TYPE = {Codec.H264: 7, Codec.H265: 33}


class SpsError(ValueError):
    """Not a sequence parameter set this reader understands."""


@dataclass(frozen=True)
class SpsInfo:
    width: int
    height: int
    reorder_frames: int | None  # pictures a decoder holds back (B-frames); None: not stated


class _Bits:
    def __init__(self, data: bytes) -> None:
        # Emulation prevention: 00 00 03 -> 00 00.
        self.data = data[:MAX_SPS_BYTES].replace(b"\x00\x00\x03", b"\x00\x00")
        self.pos = 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise SpsError("SPS truncated")
            value = (value << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > _MAX_UE_BITS:
                raise SpsError("exp-Golomb code too long")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def _scaling_list(bits: _Bits, size: int) -> None:
    last = following = 8
    for _ in range(size):
        if following:
            following = (last + bits.se() + 256) % 256
        last = following or last


def _hrd(bits: _Bits) -> None:
    count = bits.ue() + 1
    if count > 32:
        raise SpsError("cpb_cnt out of range")
    bits.u(8)
    for _ in range(count):
        bits.ue()
        bits.ue()
        bits.u(1)
    bits.u(20)


def _h264(bits: _Bits) -> SpsInfo:
    bits.u(8)  # NAL header
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    chroma = 1
    if profile in _HIGH_PROFILES:
        chroma = bits.ue()
        if chroma > 3:
            raise SpsError("chroma_format_idc out of range")
        if chroma == 3:
            bits.u(1)
        bits.ue()
        bits.ue()
        bits.u(1)
        if bits.u(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma != 3 else 12):
                if bits.u(1):
                    _scaling_list(bits, 16 if i < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.u(1)
        bits.se()
        bits.se()
        cycle = bits.ue()
        if cycle > 255:
            raise SpsError("poc cycle out of range")
        for _ in range(cycle):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.u(1)
    width_mbs, height_units = bits.ue() + 1, bits.ue() + 1
    frame_mbs_only = bits.u(1)
    if not frame_mbs_only:
        bits.u(1)
    bits.u(1)  # direct_8x8_inference_flag
    crop = (bits.ue(), bits.ue(), bits.ue(), bits.ue()) if bits.u(1) else (0, 0, 0, 0)
    crop_x = 1 if chroma in (0, 3) else 2
    crop_y = (1 if chroma in (0, 3) or chroma == 2 else 2) * (2 - frame_mbs_only)
    width = width_mbs * 16 - crop_x * (crop[0] + crop[1])
    height = height_units * 16 * (2 - frame_mbs_only) - crop_y * (crop[2] + crop[3])
    reorder = 0 if profile == 66 else None
    if bits.u(1):  # vui_parameters_present_flag
        if bits.u(1) and bits.u(8) == 255:  # aspect ratio, extended SAR
            bits.u(32)
        if bits.u(1):
            bits.u(1)
        if bits.u(1):  # video signal type
            bits.u(4)
            if bits.u(1):
                bits.u(24)
        if bits.u(1):
            bits.ue()
            bits.ue()
        if bits.u(1):  # timing info
            bits.u(65)
        nal_hrd = bits.u(1)
        if nal_hrd:
            _hrd(bits)
        vcl_hrd = bits.u(1)
        if vcl_hrd:
            _hrd(bits)
        if nal_hrd or vcl_hrd:
            bits.u(1)
        bits.u(1)  # pic_struct_present_flag
        if bits.u(1):  # bitstream_restriction_flag
            bits.u(1)
            for _ in range(4):  # max bytes per picture, bits per MB, motion vector lengths
                bits.ue()
            reorder = bits.ue()
    return SpsInfo(width, height, reorder)


def _h265(bits: _Bits) -> SpsInfo:
    bits.u(16)  # NAL header
    bits.u(4)
    sub_layers = bits.u(3)
    bits.u(1)
    bits.u(88 + 8)  # general profile, tier, level
    present = [(bits.u(1), bits.u(1)) for _ in range(sub_layers)]
    if sub_layers:
        bits.u(2 * (8 - sub_layers))
    for profile, level in present:
        bits.u(88 * profile + 8 * level)
    bits.ue()  # sps_seq_parameter_set_id
    chroma = bits.ue()
    if chroma > 3:
        raise SpsError("chroma_format_idc out of range")
    if chroma == 3:
        bits.u(1)
    width, height = bits.ue(), bits.ue()
    if bits.u(1):  # conformance window
        sub_w, sub_h = (2, 2) if chroma == 1 else (2, 1) if chroma == 2 else (1, 1)
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    bits.ue()
    bits.ue()
    bits.ue()  # bit depths, log2_max_pic_order_cnt_lsb_minus4
    every = bits.u(1)
    reorder = 0
    for _ in range(0 if every else sub_layers, sub_layers + 1):
        bits.ue()
        reorder = bits.ue()
        bits.ue()
    return SpsInfo(width, height, reorder)


def parse_sps(codec: Codec, nal: bytes) -> SpsInfo:
    """Size and reorder depth of one SPS NAL unit (header included)."""
    info = _h264(_Bits(nal)) if codec is Codec.H264 else _h265(_Bits(nal))
    if not (0 < info.width <= 16384 and 0 < info.height <= 16384):
        raise SpsError(f"picture size {info.width}x{info.height} out of range")
    if info.reorder_frames is not None and info.reorder_frames > 16:
        raise SpsError("reorder depth out of range")
    return info


def find_sps(codec: Codec, annexb: bytes) -> SpsInfo | None:
    """The first SPS of an Annex-B string that parses, or None."""
    for nal in iter_nal_units(annexb):
        if nal_type(codec, nal) == _SPS_TYPE[codec]:
            try:
                return parse_sps(codec, nal)
            except SpsError:
                continue
    return None
