"""core/depacketize_audio.py with hand-built packets (G.711, Opus, AAC-hbr), and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.depacketize_audio import AudioDepacketizer, AudioFrame, opus_duration_samples
from vigil.core.media import AudioCodec
from vigil.core.rtp import RtpError, RtpPacket

HBR = {"streamtype": "5", "profile-level-id": "15", "mode": "AAC-hbr", "config": "1408",
       "SizeLength": "13", "IndexLength": "3", "IndexDeltaLength": "3"}


def packet(payload: bytes, seq: int = 1, ts: int = 0, marker: bool = True) -> RtpPacket:
    return RtpPacket(97, marker, seq, ts, 1, payload)


def hbr(*sizes: int) -> bytes:
    """AU headers for AUs of `sizes` (13-bit size, 3-bit index/delta 0)."""
    headers = b"".join((size << 3).to_bytes(2, "big") for size in sizes)
    return (16 * len(sizes)).to_bytes(2, "big") + headers


def test_g711_frames_are_the_payload() -> None:
    depay = AudioDepacketizer(AudioCodec.PCMA, 8000, {})
    assert depay.push(packet(b"\xd5" * 160, ts=320)) == [AudioFrame(b"\xd5" * 160, 320, 160)]
    assert depay.push(packet(b"", seq=2)) == [] and depay.dropped_packets == 1


@pytest.mark.parametrize(
    ("toc", "samples"),
    [(b"\x78", 960),  # config 15: hybrid 20 ms
     (b"\xf8", 960),  # config 31: CELT 20 ms
     (b"\x08", 960),  # config 1: SILK NB 20 ms
     (b"\x18", 2880),  # config 3: SILK 60 ms
     (b"\x81", 240),  # config 16, code 1: 2 × 2.5 ms
     (b"\x0b\x02", 1920),  # config 1, code 3, 2 frames of 20 ms
     (b"\x1b\x03", None),  # 3 × 60 ms: over 120 ms
     (b"\x0b\x00", None),  # code 3 with 0 frames
     (b"\x0b", None),  # code 3 without its count byte
     (b"", None)],
)
def test_opus_durations(toc: bytes, samples: int | None) -> None:
    assert opus_duration_samples(toc) == samples


def test_opus_frames_carry_their_duration() -> None:
    depay = AudioDepacketizer(AudioCodec.OPUS, 48000, {"sprop-stereo": "0"})
    assert depay.push(packet(b"\xfc\x01\x02", ts=960)) == [AudioFrame(b"\xfc\x01\x02", 960, 960)]


def test_aac_several_aus_in_one_packet_each_with_its_timestamp() -> None:
    depay = AudioDepacketizer(AudioCodec.AAC, 16000, HBR)
    frames = depay.push(packet(hbr(3, 2, 4) + b"aaa" + b"bb" + b"cccc", ts=0xFFFFFC00))
    assert frames == [AudioFrame(b"aaa", 0xFFFFFC00, 1024), AudioFrame(b"bb", 0, 1024),
                      AudioFrame(b"cccc", 1024, 1024)]


def test_aac_index_delta_and_constant_duration() -> None:
    depay = AudioDepacketizer(AudioCodec.AAC, 48000, {**HBR, "constantDuration": "960"})
    headers = (2 << 3 | 0).to_bytes(2, "big") + (2 << 3 | 1).to_bytes(2, "big")  # second AU: delta 1 → index 2
    assert depay.push(packet(b"\x00\x20" + headers + b"aabb", ts=0)) == [
        AudioFrame(b"aa", 0, 960), AudioFrame(b"bb", 1920, 960)]


def test_aac_fragmented_au_is_reassembled() -> None:
    depay = AudioDepacketizer(AudioCodec.AAC, 16000, HBR)
    au = bytes(range(250))
    assert depay.push(packet(hbr(250) + au[:100], seq=1, ts=5, marker=False)) == []
    assert depay.push(packet(hbr(250) + au[100:200], seq=2, ts=5, marker=False)) == []
    assert depay.push(packet(hbr(250) + au[200:], seq=3, ts=5)) == [AudioFrame(au, 5, 1024)]
    # a lost middle fragment drops the frame; the next whole one comes through
    depay.push(packet(hbr(250) + au[:100], seq=4, ts=1029, marker=False))
    assert depay.push(packet(hbr(250) + au[200:], seq=6, ts=1029)) == []
    assert depay.dropped_frames == 1
    assert depay.push(packet(hbr(3) + b"xyz", seq=7, ts=2053)) == [AudioFrame(b"xyz", 2053, 1024)]


def test_aac_other_header_layouts() -> None:
    # sizelength 6, indexlength 2, ctsdelta 3 + dtsdelta 4 flags, random access flag: one header
    fmtp = {"sizelength": "6", "indexlength": "2", "indexdeltalength": "2", "ctsdeltalength": "3",
            "dtsdeltalength": "4", "randomaccessindication": "1"}
    depay = AudioDepacketizer(AudioCodec.AAC, 8000, fmtp)
    # size 3 (000011) index 0 (00) cts-flag 0, dts-flag 1 + 0101, rap 1 = 15 bits
    bits = "000011" + "00" + "0" + "1" + "0101" + "1"
    header = int(bits + "0", 2).to_bytes(2, "big")
    assert depay.push(packet(len(bits).to_bytes(2, "big") + header + b"abc")) == [AudioFrame(b"abc", 0, 1024)]


@pytest.mark.parametrize("payload", [b"", b"\x00", b"\x00\x00abc", b"\x00\x10", b"\x00\x20\x00\x18abc",
                                     b"\x00\x10\x00\x00", b"\x00\x0c\x00\x18abc"])
def test_aac_corrupt_packets_are_dropped(payload: bytes) -> None:
    depay = AudioDepacketizer(AudioCodec.AAC, 16000, HBR)
    assert depay.push(packet(payload)) == []
    assert depay.dropped_packets == 1


def test_aac_without_sizelength_is_refused() -> None:
    with pytest.raises(RtpError, match="sizelength"):
        AudioDepacketizer(AudioCodec.AAC, 16000, {"mode": "AAC-hbr"})
    with pytest.raises(RtpError, match="not a number"):
        AudioDepacketizer(AudioCodec.AAC, 16000, {"sizelength": "x"})


AAC_LIKE = st.sampled_from([hbr(250) + bytes(100), hbr(2, 1) + b"abc"])


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(list(AudioCodec)),
       st.lists(st.tuples(st.integers(0, 6), st.sampled_from([0, 1024]), st.booleans(),
                          st.one_of(st.binary(max_size=40), AAC_LIKE)),
                max_size=30))
def test_fuzz_audio(codec: AudioCodec, packets: list[tuple[int, int, bool, bytes]]) -> None:
    depay = AudioDepacketizer(codec, 16000, HBR)
    for seq, ts, marker, payload in packets:
        for frame in depay.push(packet(payload, seq, ts, marker)):
            assert 0 < len(frame.data) <= len(payload) or codec is AudioCodec.AAC
        assert depay._fragment_bytes <= 64 * 1024
