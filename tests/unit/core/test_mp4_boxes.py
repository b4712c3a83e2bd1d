"""core/mp4_boxes.py, the one reader of our fragments' boxes, on boxes built by hand."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.core.errors import Mp4FormatError
from vigil.core.mp4_boxes import (
    NON_SYNC_SAMPLE,
    box_header,
    box_spans,
    boxes,
    leading_boxes,
    moof_decode_start,
    parse_moof,
)


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", version << 24 | flags) + payload)


def moof(durations: list[int], sizes: list[int], syncs: list[bool], decode_start: int = 0, *,
         tfdt_version: int = 1, first_flags: bool = False, default_flags: int | None = NON_SYNC_SAMPLE) -> bytes:
    """A moof like our writer's: tfhd default-base-is-moof (+ default sample flags), tfdt, one
    trun with a data offset and per-sample duration, size and (unless `first_flags`) flags."""
    tfhd_flags = 0x20000 | (0x20 if default_flags is not None else 0)
    tfhd = full(b"tfhd", 0, tfhd_flags, struct.pack(">I", 1) + (b"" if default_flags is None
                                                                 else struct.pack(">I", default_flags)))
    tfdt = full(b"tfdt", tfdt_version, 0, struct.pack(">Q" if tfdt_version == 1 else ">I", decode_start))
    flags = 0x1 | 0x100 | 0x200 | (0x4 if first_flags else 0x400)
    entries = b""
    for d, size, sync in zip(durations, sizes, syncs, strict=True):
        entries += struct.pack(">II", d, size) + (b"" if first_flags else
                                                    struct.pack(">I", 0 if sync else NON_SYNC_SAMPLE))
    head = struct.pack(">Ii", len(durations), 0) + (struct.pack(">I", 0 if syncs and syncs[0] else NON_SYNC_SAMPLE)
                                                    if first_flags else b"")
    trun = full(b"trun", 0, flags, head + entries)
    return box(b"moof", full(b"mfhd", 0, 0, struct.pack(">I", 3)) + box(b"traf", tfhd + tfdt + trun))


def test_a_fragment_s_samples() -> None:
    info = parse_moof(moof([3000, 6000, 1], [10, 20, 5], [True, False, True], decode_start=1 << 33))
    assert info.sample_durations_90k == (3000, 6000, 1) and info.duration_90k == 9001
    assert info.sample_sizes == (10, 20, 5) and info.data_bytes == 35
    assert info.starts_with_sync and info.sync_sample_count == 2
    assert info.decode_start_90k == 1 << 33


def test_first_sample_flags_override_the_defaults() -> None:
    data = moof([100, 100], [1, 1], [True, False], 90_000, tfdt_version=0, first_flags=True)
    info = parse_moof(data)
    assert info.starts_with_sync and info.sync_sample_count == 1  # the rest: tfhd's default, non-sync
    assert moof_decode_start(data) == 90_000 == info.decode_start_90k


def test_without_flags_in_the_moof_the_trex_default_counts() -> None:
    data = moof([100, 100], [1, 1], [True, True], first_flags=True, default_flags=None)
    assert parse_moof(data).sync_sample_count == 2
    assert parse_moof(data, default_sample_flags=NON_SYNC_SAMPLE).sync_sample_count == 1


def test_shapes_our_writer_never_makes_are_refused() -> None:
    good = moof([100], [1], [True])
    with pytest.raises(Mp4FormatError, match="truncated"):
        parse_moof(good[:-1])
    no_offset = good.replace(struct.pack(">I", 0x701), struct.pack(">I", 0x700))  # trun flags without 0x1
    assert no_offset != good
    with pytest.raises(Mp4FormatError):
        parse_moof(no_offset)
    with pytest.raises(Mp4FormatError, match="expected a moof"):
        moof_decode_start(box(b"free", b""))


@given(st.lists(st.tuples(st.sampled_from([b"free", b"skip", b"mdat"]), st.binary(max_size=40)), max_size=6),
       st.integers(min_value=0, max_value=300))
def test_the_lenient_walk_keeps_the_whole_boxes_of_a_cut_file(parts: list[tuple[bytes, bytes]], cut: int) -> None:
    data = b"".join(box(kind, payload) for kind, payload in parts)
    cut_data = data[:cut]
    spans = box_spans(cut_data)
    whole = 0
    for (kind, payload), (found, start, end) in zip(parts, spans, strict=False):
        assert (found, cut_data[start:end]) == (kind, payload)
        whole = end
    assert len(spans) == sum(1 for _ in _ends_within(parts, len(cut_data)))
    if whole == len(cut_data):
        assert [b.kind for b in boxes(cut_data)] == [k for k, _ in parts][:len(spans)]
    else:
        with pytest.raises(Mp4FormatError):
            boxes(cut_data)


def _ends_within(parts: list[tuple[bytes, bytes]], size: int) -> list[int]:
    ends, at = [], 0
    for _, payload in parts:
        at += 8 + len(payload)
        if at > size:
            break
        ends.append(at)
    return ends


def test_box_headers_of_64_bit_and_to_the_end_sizes() -> None:
    large = struct.pack(">I4sQ", 1, b"mdat", 16 + 4) + b"abcd"
    assert box_header(large[:16], len(large)) == (b"mdat", 16, 20)
    assert box_header(large[:12], len(large)) is None  # the 64-bit size is not all there
    assert box_header(large[:16], 19) is None  # the box runs past the room it has
    assert box_header(struct.pack(">I4s", 0, b"mdat"), 100) == (b"mdat", 8, 100)  # to the end
    assert [(b.kind, b.payload, b.end) for b in leading_boxes(box(b"free", b"xy") + large + b"\0\0")] == [
        (b"free", 8, 10), (b"mdat", 26, 30)]
