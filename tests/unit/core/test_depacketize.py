"""core/depacketize.py with hand-built packets: one test per rule of its docstring, and fuzzing.

The real packetizers (GStreamer, FFmpeg) are the peers in tests/integration/ingest/test_depacketize_peers.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.depacketize import REORDER_WINDOW, AccessUnit, VideoDepacketizer
from vigil.core.media import Codec
from vigil.core.rtp import RtpError, RtpPacket

SC = b"\x00\x00\x00\x01"
SPS, PPS = b"\x67\x42\xc0\x15\xd9", b"\x68\xce\x3c\x80"
IDR = b"\x65" + bytes(range(1, 200))
P_SLICE = b"\x41\x9a\x01\x02\x03"
SEI = b"\x06\x05\x01\x02"
# H.265: two-byte NAL headers (type << 1, layer/tid 1)
VPS, H265_SPS, H265_PPS = b"\x40\x01\x0c", b"\x42\x01\x01", b"\x44\x01\xc1"
IRAP = b"\x26\x01" + bytes(range(2, 150))  # IDR_W_RADL (19)
TRAIL = b"\x02\x01\xd0\x09"  # TRAIL_R (1)


@pytest.fixture
def no_reordering(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window of one packet: a gap is a loss at once (the loss rules, without the reordering wait)."""
    monkeypatch.setattr("vigil.core.depacketize.REORDER_WINDOW", 1)


class Stream:
    """Numbers packets in order; `skip` loses some."""

    def __init__(self, codec: Codec = Codec.H264, seq: int = 65530) -> None:
        self.depay = VideoDepacketizer(codec)
        self.seq = seq

    def send(self, payload: bytes, ts: int, marker: bool = False) -> list[AccessUnit]:
        packet = RtpPacket(96, marker, self.seq, ts, 1, payload)
        self.seq = (self.seq + 1) & 0xFFFF
        return self.depay.push(packet)

    def skip(self, count: int = 1) -> None:
        self.seq = (self.seq + count) & 0xFFFF


def stap_a(*nals: bytes) -> bytes:
    return b"\x18" + b"".join(len(n).to_bytes(2, "big") + n for n in nals)


def fu_a(nal: bytes, size: int) -> list[bytes]:
    body = nal[1:]
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    out = []
    for i, chunk in enumerate(chunks):
        header = (0x80 if i == 0 else 0) | (0x40 if i == len(chunks) - 1 else 0) | (nal[0] & 0x1F)
        out.append(bytes([(nal[0] & 0xE0) | 28, header]) + chunk)
    return out


def ap(*nals: bytes) -> bytes:
    return bytes([48 << 1, 1]) + b"".join(len(n).to_bytes(2, "big") + n for n in nals)


def fu_h265(nal: bytes, size: int) -> list[bytes]:
    kind = (nal[0] >> 1) & 0x3F
    body = nal[2:]
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    out = []
    for i, chunk in enumerate(chunks):
        header = (0x80 if i == 0 else 0) | (0x40 if i == len(chunks) - 1 else 0) | kind
        out.append(bytes([(nal[0] & 0x81) | (49 << 1), nal[1], header]) + chunk)
    return out


def keyframe(stream: Stream, ts: int, size: int = 60) -> list[AccessUnit]:
    out = stream.send(stap_a(SPS, PPS), ts)
    parts = fu_a(IDR, size)
    for i, part in enumerate(parts):
        out += stream.send(part, ts, marker=i == len(parts) - 1)
    return out


def test_stap_a_and_fu_a_make_one_keyframe_on_the_marker() -> None:
    stream = Stream()
    assert stream.send(stap_a(SPS, PPS), 3000) == []
    parts = fu_a(IDR, 50)
    assert len(parts) == 4
    for part in parts[:-1]:
        assert stream.send(part, 3000) == []
    # released by the packet with the marker, not by the next frame's first packet
    assert stream.send(parts[-1], 3000, marker=True) == [
        AccessUnit(SC + SPS + SC + PPS + SC + IDR, 3000, True)]
    assert stream.send(P_SLICE, 6000, marker=True) == [AccessUnit(SC + P_SLICE, 6000, False)]


def test_single_nal_units_of_one_timestamp_form_one_unit() -> None:
    stream = Stream()
    keyframe(stream, 0)
    assert stream.send(SEI, 3000) == []
    assert stream.send(P_SLICE, 3000) == []
    assert stream.send(P_SLICE, 3000, marker=True) == [
        AccessUnit(SC + SEI + SC + P_SLICE + SC + P_SLICE, 3000, False)]


def test_without_markers_the_next_timestamp_releases() -> None:
    stream = Stream()
    assert stream.send(stap_a(SPS, PPS), 0) == []
    assert stream.send(IDR, 0) == []
    assert stream.send(P_SLICE, 3000) == [AccessUnit(SC + SPS + SC + PPS + SC + IDR, 0, True)]
    assert stream.depay.flush() == [AccessUnit(SC + P_SLICE, 3000, False)]
    assert stream.depay.flush() == []


def test_a_marker_on_parameter_sets_alone_does_not_release_them() -> None:
    stream = Stream()
    assert stream.send(stap_a(SPS, PPS), 0, marker=True) == []
    assert stream.send(IDR, 0, marker=True) == [AccessUnit(SC + SPS + SC + PPS + SC + IDR, 0, True)]


def test_parameter_sets_stamped_apart_join_the_next_picture() -> None:
    stream = Stream()
    keyframe(stream, 0)
    # a camera that sends SPS/PPS/SEI with a timestamp of their own before the IDR's
    assert stream.send(stap_a(SPS, PPS), 2999) == []
    assert stream.send(SEI, 2999) == []
    assert stream.send(IDR, 3000, marker=True) == [
        AccessUnit(SC + SPS + SC + PPS + SC + SEI + SC + IDR, 3000, True)]
    assert stream.depay.lost_units == 0


def test_nothing_before_the_first_keyframe() -> None:
    stream = Stream()
    assert stream.send(P_SLICE, 0, marker=True) == []
    assert fu_a(IDR, 60)[1:] and stream.send(fu_a(IDR, 60)[1], 3000) == []  # joined mid-fragment
    assert stream.send(P_SLICE, 6000, marker=True) == []
    assert [u.is_keyframe for u in keyframe(stream, 9000)] == [True]
    assert stream.depay.skipped_units == 2
    assert (stream.depay.lost_units, stream.depay.resyncs) == (1, 0)  # the broken fragment


def test_a_lost_fragment_drops_its_unit_and_waits_for_the_next_keyframe(no_reordering: None) -> None:
    stream = Stream()
    keyframe(stream, 0)
    parts = fu_a(IDR[:1] + bytes(150), 40)  # a P picture in four fragments
    parts = [bytes([0x5C]) + p[1:2] + p[2:] for p in parts]  # type 1 (non-IDR) inside FU-A (NRI 2)
    parts = [bytes([p[0], (p[1] & 0xE0) | 1]) + p[2:] for p in parts]
    stream.send(parts[0], 3000)
    stream.skip()  # parts[1] lost
    for i, part in enumerate(parts[2:]):
        assert stream.send(part, 3000, marker=i == len(parts) - 3) == []
    assert stream.send(P_SLICE, 6000, marker=True) == []  # no reference: dropped too
    assert stream.send(P_SLICE, 9000, marker=True) == []
    assert [u.is_keyframe for u in keyframe(stream, 12000)] == [True]
    assert stream.send(P_SLICE, 15000, marker=True) == [AccessUnit(SC + P_SLICE, 15000, False)]
    assert (stream.depay.lost_units, stream.depay.resyncs) == (3, 1)


def test_a_gap_before_a_new_timestamp_drops_that_unit_too(no_reordering: None) -> None:
    stream = Stream()
    keyframe(stream, 0)
    stream.skip()  # e.g. the SPS/PPS packet of the next keyframe
    parts = fu_a(IDR, 80)
    for i, part in enumerate(parts):
        assert stream.send(part, 3000, marker=i == len(parts) - 1) == []
    assert (stream.depay.lost_units, stream.depay.resyncs) == (1, 1)
    assert [u.rtp_timestamp for u in keyframe(stream, 6000)] == [6000]


def test_a_missing_fragment_end_is_a_loss() -> None:
    stream = Stream()
    keyframe(stream, 0)
    parts = fu_a(IDR, 60)
    stream.send(parts[0], 3000)
    assert stream.send(P_SLICE, 3000, marker=True) == []  # a whole NAL while the FU is open
    assert stream.depay.malformed_packets == 1 and stream.depay.resyncs == 1
    stream.send(parts[0], 6000)
    assert stream.send(parts[1], 6000, marker=True) == []  # marker without the FU's end
    assert stream.depay.lost_units == 2


def test_late_and_duplicate_packets_are_ignored() -> None:
    stream = Stream()
    keyframe(stream, 0)
    stream.seq -= 1
    assert stream.send(P_SLICE, 0, marker=True) == []  # a duplicate of the last packet
    assert stream.send(P_SLICE, 3000, marker=True) == [AccessUnit(SC + P_SLICE, 3000, False)]
    assert (stream.depay.lost_units, stream.depay.resyncs) == (0, 0)


def test_a_reordered_packet_loses_nothing() -> None:
    in_order, swapped = Stream(), Stream()
    keyframe(in_order, 0)
    keyframe(swapped, 0)
    parts = fu_a(IDR, 40)
    expected = [u for i, p in enumerate(parts) for u in in_order.send(p, 3000, marker=i == len(parts) - 1)]
    seq = swapped.seq
    order = [0, 2, 1, *range(3, len(parts))]  # the second fragment comes after the third
    got = []
    for n in order:
        swapped.seq = (seq + n) & 0xFFFF
        got += swapped.send(parts[n], 3000, marker=n == len(parts) - 1)
    assert got == expected and [u.is_keyframe for u in got] == [True]
    assert (swapped.depay.lost_units, swapped.depay.resyncs) == (0, 0)


def test_a_lost_packet_is_given_up_when_the_window_fills() -> None:
    stream = Stream()
    keyframe(stream, 0)
    stream.skip()  # lost for good
    held = [stream.send(P_SLICE, 3000 * n, marker=True) for n in range(1, REORDER_WINDOW)]
    assert held == [[]] * (REORDER_WINDOW - 1) and stream.depay.resyncs == 0  # still waiting for it
    assert stream.send(P_SLICE, 3000 * REORDER_WINDOW, marker=True) == []  # the window is full
    assert stream.depay.resyncs == 1 and stream.depay.lost_units == REORDER_WINDOW
    assert [u.rtp_timestamp for u in keyframe(stream, 99000)] == [99000]


def test_far_ahead_or_at_the_end_the_missing_packets_are_lost() -> None:
    stream = Stream()
    keyframe(stream, 0)
    stream.skip()
    assert stream.send(P_SLICE, 3000, marker=True) == []  # held
    stream.skip(REORDER_WINDOW + 5)
    # no waiting for the far past: both go on at once (and are dropped: the loss rules)
    assert stream.send(P_SLICE, 6000, marker=True) == []
    assert (stream.depay.resyncs, stream.depay.lost_units, len(stream.depay._held)) == (1, 2, 0)
    assert [u.rtp_timestamp for u in keyframe(stream, 9000)] == [9000]
    stream.skip()
    assert stream.send(P_SLICE, 12000, marker=True) == []
    assert stream.depay.flush() == [] and stream.depay.resyncs == 2  # the session ended: lost


@pytest.mark.parametrize(("kind", "name"), [(25, "STAP-B"), (26, "MTAP16"), (27, "MTAP24"), (29, "FU-B")])
def test_interleaved_mode_is_refused(kind: int, name: str) -> None:
    with pytest.raises(RtpError, match=name):
        Stream().send(bytes([0x60 | kind, 0x85, 0, 0]), 0)


@pytest.mark.parametrize("payload", [b"", b"\x00\x01", b"\x1e\x00", b"\x18\x00\x09\x67",
                                     b"\x18\x00\x00", b"\x18", b"\x1c"])
def test_corrupt_payloads_count_as_losses(payload: bytes) -> None:
    stream = Stream()
    keyframe(stream, 0)
    assert stream.send(payload, 3000, marker=True) == []
    assert (stream.depay.malformed_packets, stream.depay.lost_units, stream.depay.resyncs) == (1, 1, 1)


def test_an_oversized_unit_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vigil.core.depacketize.MAX_ACCESS_UNIT_BYTES", 1000)
    stream = Stream()
    keyframe(stream, 0)
    for _ in range(20):
        assert stream.send(P_SLICE + bytes(100), 3000) == []
    assert stream.depay._size <= 1000
    assert stream.send(P_SLICE, 3000, marker=True) == []
    assert (stream.depay.oversized_units, stream.depay.lost_units) == (1, 1)
    assert [u.is_keyframe for u in keyframe(stream, 6000)] == [True]


def test_h265_ap_fu_and_single() -> None:
    stream = Stream(Codec.H265)
    assert stream.send(ap(VPS, H265_SPS, H265_PPS), 90) == []
    parts = fu_h265(IRAP, 40)
    for part in parts[:-1]:
        assert stream.send(part, 90) == []
    assert stream.send(parts[-1], 90, marker=True) == [
        AccessUnit(SC + VPS + SC + H265_SPS + SC + H265_PPS + SC + IRAP, 90, True)]
    assert stream.send(TRAIL, 3090, marker=True) == [AccessUnit(SC + TRAIL, 3090, False)]


def test_h265_cra_is_a_keyframe_and_paci_is_refused() -> None:
    stream = Stream(Codec.H265)
    cra = bytes([21 << 1, 1, 0xAA])
    assert stream.send(cra, 0, marker=True) == [AccessUnit(SC + cra, 0, True)]
    with pytest.raises(RtpError, match="PACI"):
        stream.send(bytes([50 << 1, 1, 0, 0]), 10)


def test_h265_lost_fragment(no_reordering: None) -> None:
    stream = Stream(Codec.H265)
    stream.send(ap(VPS, H265_SPS, H265_PPS), 0)
    parts = fu_h265(IRAP, 30)
    stream.send(parts[0], 0)
    stream.skip()
    for part in parts[2:]:
        stream.send(part, 0, marker=part is parts[-1])
    assert stream.send(TRAIL, 3000, marker=True) == []
    assert stream.depay.resyncs == 0  # never synced: still waiting for the first keyframe
    assert stream.depay.lost_units == 1 and stream.depay.skipped_units == 1


PACKET = st.builds(
    lambda seq, ts, marker, payload: RtpPacket(96, marker, seq, ts, 1, payload),
    st.integers(0, 65535), st.sampled_from([0, 3000, 6000]), st.booleans(),
    st.one_of(st.binary(max_size=40), st.sampled_from([*fu_a(IDR, 60), stap_a(SPS, PPS), IDR, P_SLICE,
                                                        *fu_h265(IRAP, 50), ap(VPS, H265_SPS), TRAIL])),
)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(list(Codec)), st.lists(PACKET, max_size=40))
def test_fuzz_depacketizer(codec: Codec, packets: list[RtpPacket]) -> None:
    depay = VideoDepacketizer(codec)
    for packet in packets:
        try:
            units = depay.push(packet)
        except RtpError:
            continue
        for unit in units:
            assert unit.data.startswith(SC)
        assert depay._size <= 40 * 100
    depay.flush()
