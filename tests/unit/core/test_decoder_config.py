"""Decoder configuration records (avcC/hvcC) compared by what decodes: the distinct parameter sets."""

from __future__ import annotations

import pytest

from vigil.core.h26x import decoder_config, updated_parameter_sets
from vigil.core.media import Codec

# x265's parameter sets for 320x240 (as the simulated H.265 camera sends them), and an SPS with
# other picture-size bits: a real change.
VPS = bytes.fromhex("40010c01ffff01600000030090000003000003003cba0240")
SPS = bytes.fromhex("42010101600000030090000003000003003ca00a080f165ba4a4c2fff000100016a0c0c0c080000003008000000784")
SPS_OTHER = bytes.fromhex("42010101600000030090000003000003005da01402016c165ba4a4c2fff"
                          "000100016a0c0c0c080000003008000000784")
PPS = bytes.fromhex("4401c0718312")
HVCC_FIELDS = bytes.fromhex("0101600000009000000000003cf000fcfdf8f800000f")  # the 22 fixed bytes, as recorded
AVC_SPS, AVC_PPS, AVC_PPS_2 = bytes.fromhex("674d401fe8802803dd80b5010101"), bytes.fromhex("68ebef20"), \
    bytes.fromhex("68ebcf20")


def hvcc(arrays: list[tuple[int, list[bytes]]], fields: bytes = HVCC_FIELDS, complete: bool = False) -> bytes:
    out = bytearray(fields + bytes([len(arrays)]))
    for nal_type, nals in arrays:
        out += bytes([nal_type | (0x80 if complete else 0)]) + len(nals).to_bytes(2, "big")
        for nal in nals:
            out += len(nal).to_bytes(2, "big") + nal
    return bytes(out)


def avcc(sps: list[bytes], pps: list[bytes]) -> bytes:
    out = bytearray(b"\x01\x4d\x40\x1f\xff" + bytes([0xE0 | len(sps)]))
    for nal in sps:
        out += len(nal).to_bytes(2, "big") + nal
    out.append(len(pps))
    for nal in pps:
        out += len(nal).to_bytes(2, "big") + nal
    return bytes(out)


def test_hvcc_with_triplicated_arrays_equals_hvcc_with_duplicated_arrays() -> None:
    """What the recorder writes for a run's first segment and for the later ones (issue 12, #12):
    three copies of each set, then two, the last PPS with the next start code's zero byte."""
    first = hvcc([(32, [VPS] * 3), (33, [SPS] * 3), (34, [PPS, PPS, PPS + b"\x00"])])
    later = hvcc([(32, [VPS] * 2), (33, [SPS] * 2), (34, [PPS, PPS + b"\x00"])])
    once = hvcc([(32, [VPS]), (33, [SPS]), (34, [PPS])])
    assert first != later  # the bytes differ, not what decodes:
    assert decoder_config("hvcC", first) == decoder_config("hvcC", later) == decoder_config("hvcC", once)
    assert decoder_config("hvcC", once).parameter_sets == {VPS, SPS, PPS}


def test_a_real_change_differs() -> None:
    base = decoder_config("hvcC", hvcc([(32, [VPS] * 2), (33, [SPS] * 2), (34, [PPS] * 2)]))
    assert decoder_config("hvcC", hvcc([(32, [VPS] * 2), (33, [SPS_OTHER] * 2), (34, [PPS] * 2)])) != base
    assert decoder_config("hvcC", hvcc([(32, [VPS]), (33, [SPS, SPS_OTHER]), (34, [PPS])])) != base  # one more set
    other_level = HVCC_FIELDS[:12] + b"\x5d" + HVCC_FIELDS[13:]
    assert decoder_config("hvcC", hvcc([(32, [VPS]), (33, [SPS]), (34, [PPS])], other_level)) != base
    nal_length_2 = HVCC_FIELDS[:21] + b"\x0d"  # samples with 2-byte NAL lengths: not the same samples
    assert decoder_config("hvcC", hvcc([(32, [VPS]), (33, [SPS]), (34, [PPS])], nal_length_2)) != base
    assert decoder_config("hvcC", hvcc([(32, [VPS]), (33, [SPS]), (34, [PPS])], complete=True)) != base


def test_avcc_duplicates_equal_and_changes_differ() -> None:
    once = decoder_config("avcC", avcc([AVC_SPS], [AVC_PPS]))
    assert decoder_config("avcC", avcc([AVC_SPS, AVC_SPS], [AVC_PPS, AVC_PPS + b"\x00"])) == once
    assert decoder_config("avcC", avcc([AVC_SPS], [AVC_PPS_2])) != once
    assert decoder_config("avcC", avcc([AVC_SPS], [AVC_PPS, AVC_PPS_2])) != once


@pytest.mark.parametrize(("kind", "record"), [
    ("hvcC", b"\x01" * 10),  # shorter than the fixed fields
    ("hvcC", hvcc([(33, [SPS])])[:-3]),  # a set cut short
    ("hvcC", hvcc([(33, [SPS])]) + b"\x00"),  # bytes after the arrays
    ("avcC", avcc([AVC_SPS], [AVC_PPS])[:8]),
    ("avcC", b"\x02" + avcc([AVC_SPS], [AVC_PPS])[1:]),  # unknown version
    ("esds", b"\x00" * 30),
])
def test_malformed_records_are_refused(kind: str, record: bytes) -> None:
    with pytest.raises(ValueError):
        decoder_config(kind, record)


def annexb(*nals: bytes) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + nal for nal in nals)


def test_in_band_parameter_sets_compared_by_what_decodes() -> None:
    """The recorder's cut on a parameter change (same class): order, repeats, a trailing zero byte
    and a partial set change nothing; a new set replaces those of its kind, keeping the others."""
    current = annexb(VPS, SPS, PPS)
    for same in (annexb(VPS, SPS, PPS), annexb(PPS, SPS, VPS), annexb(VPS, SPS, PPS, VPS, SPS, PPS + b"\x00"),
                 annexb(PPS), annexb(SPS, PPS), b""):
        assert updated_parameter_sets(Codec.H265, current, same) is None, same
    assert updated_parameter_sets(Codec.H265, current, annexb(VPS, SPS_OTHER, PPS)) == annexb(VPS, SPS_OTHER, PPS)
    other_pps = PPS[:-1] + b"\x13"
    assert updated_parameter_sets(Codec.H265, current, annexb(other_pps)) == annexb(VPS, SPS, other_pps)
    assert updated_parameter_sets(Codec.H264, b"", annexb(AVC_SPS, AVC_PPS)) == annexb(AVC_SPS, AVC_PPS)
    assert updated_parameter_sets(Codec.H264, annexb(AVC_SPS, AVC_PPS), annexb(AVC_PPS_2)) == annexb(AVC_SPS, AVC_PPS_2)
