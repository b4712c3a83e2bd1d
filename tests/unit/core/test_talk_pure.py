"""The intercom's pure parts: G.711 both laws (judged by FFmpeg's codecs through PyAV), the talk
offer's screening, the codec the browser is asked for, and when a talk session ends."""

from __future__ import annotations

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.core import g711
from vigil.core.errors import BadRequestError
from vigil.core.media import AudioCodec
from vigil.core.talk_session import (
    CONNECT_TIMEOUT_S,
    MAX_PRESS_S,
    SILENCE_TIMEOUT_S,
    TalkTimes,
    answered_codec,
    browser_codecs,
    why_talk_ends,
)
from vigil.core.timebase import NS_PER_SECOND
from vigil.core.whep_offer import TALK_MEDIA, screen_offer

LAWS = [AudioCodec.PCMU, AudioCodec.PCMA]
ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int16)


def _ffmpeg_encode(samples: np.ndarray, codec: AudioCodec) -> bytes:
    encoder = av.CodecContext.create(codec.value, "w")
    encoder.sample_rate, encoder.layout, encoder.format = 8000, "mono", "s16"
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 8000
    return b"".join(bytes(p) for p in encoder.encode(frame))


def _ffmpeg_decode(data: bytes, codec: AudioCodec) -> np.ndarray:
    decoder = av.CodecContext.create(codec.value, "r")
    decoder.sample_rate, decoder.layout = 8000, "mono"
    frames = decoder.decode(av.Packet(data))
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames])


@pytest.mark.parametrize("law", LAWS)
def test_every_sample_encodes_as_ffmpeg_does(law: AudioCodec) -> None:
    assert g711.encode(ALL_SAMPLES, law) == _ffmpeg_encode(ALL_SAMPLES, law)


@pytest.mark.parametrize("law", LAWS)
def test_every_code_decodes_as_ffmpeg_does(law: AudioCodec) -> None:
    codes = bytes(range(256))
    assert np.array_equal(g711.decode(codes, law), _ffmpeg_decode(codes, law))


@pytest.mark.parametrize(("source", "target"), [(AudioCodec.PCMU, AudioCodec.PCMA), (AudioCodec.PCMA, AudioCodec.PCMU)])
def test_a_tone_survives_conversion_between_laws(source: AudioCodec, target: AudioCodec) -> None:
    t = np.arange(8000) / 8000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    back = g711.decode(g711.convert(g711.encode(tone, source), source, target), target).astype(np.float64)
    error = back - tone
    assert np.sqrt(np.mean(error**2)) < 0.03 * np.sqrt(np.mean(tone.astype(np.float64) ** 2))
    spectrum = np.abs(np.fft.rfft(back))
    assert abs(np.argmax(spectrum) * 8000 / len(back) - 440) < 440 * 0.02


def test_converting_to_the_same_law_changes_nothing() -> None:
    data = bytes(range(256))
    assert g711.convert(data, AudioCodec.PCMU, AudioCodec.PCMU) is data


def test_only_g711_is_g711() -> None:
    with pytest.raises(ValueError, match=r"OPUS is not G\.711"):
        g711.encode(ALL_SAMPLES[:4], AudioCodec.OPUS)
    with pytest.raises(ValueError, match=r"AAC is not G\.711"):
        browser_codecs(AudioCodec.AAC)


@given(st.lists(st.binary(max_size=700), max_size=20))
def test_the_chunker_keeps_every_byte_in_order_in_whole_packets(pieces: list[bytes]) -> None:
    chunker = g711.Chunker()
    out = [chunk for piece in pieces for chunk in chunker.push(piece)]
    assert all(len(c) == g711.CHUNK_SAMPLES for c in out)
    rest = chunker.flush()
    assert len(rest) < g711.CHUNK_SAMPLES
    assert b"".join(out) + rest == b"".join(pieces)


def test_the_device_law_is_asked_for_first() -> None:
    assert browser_codecs(AudioCodec.PCMA) == (AudioCodec.PCMA, AudioCodec.PCMU)
    assert browser_codecs(AudioCodec.PCMU) == (AudioCodec.PCMU, AudioCodec.PCMA)


@pytest.mark.parametrize(("sdp", "codec"), [
    ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n", AudioCodec.PCMA),
    ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n", AudioCodec.PCMU),
    ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:111 opus/48000/2\r\n", None),
    ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 97\r\na=rtpmap:97 pcmu/8000\r\nm=video 9 RTP 8\r\n", AudioCodec.PCMU),
    ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\n", None),
])
def test_the_answered_codec_is_the_first_of_the_audio_section(sdp: str, codec: AudioCodec | None) -> None:
    assert answered_codec(sdp) is codec


TALK_OFFER = ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
              "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\n"
              "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n"
              "a=rtpmap:8 PCMA/8000\r\na=sendonly\r\n")


def test_a_talk_offer_with_g711_audio_passes() -> None:
    assert "PCMU/8000" in screen_offer(TALK_OFFER.encode(), ["127.0.0.1"], TALK_MEDIA).sdp


@pytest.mark.parametrize(("offer", "needle"), [
    (TALK_OFFER.replace("m=audio", "m=video"), "no audio section"),
    (TALK_OFFER.replace("a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n", ""), "does not offer G.711"),
    # G.711 named in a video section does not count
    (TALK_OFFER.replace("m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\na=rtpmap:111 opus/48000/2\r\n",
                        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\nm=video 9 RTP 0 8\r\n"),
     "does not offer G.711"),
])
def test_talk_offers_without_g711_audio_are_refused(offer: str, needle: str) -> None:
    with pytest.raises(BadRequestError, match=needle):
        screen_offer(offer.encode(), ["127.0.0.1"], TALK_MEDIA)


S = NS_PER_SECOND


def test_a_session_ends_for_each_of_its_reasons() -> None:
    offered = TalkTimes(offered_ns=100 * S)
    assert why_talk_ends(offered, 100 * S) is None
    assert "did not connect" in str(why_talk_ends(offered, int((100 + CONNECT_TIMEOUT_S) * S)))
    connected = TalkTimes(100 * S, connected_ns=101 * S)
    assert why_talk_ends(connected, int((101 + SILENCE_TIMEOUT_S) * S) - 1) is None
    assert "no audio" in str(why_talk_ends(connected, int((101 + SILENCE_TIMEOUT_S) * S)))
    hearing = TalkTimes(100 * S, 101 * S, last_audio_ns=int((100 + MAX_PRESS_S) * S) - S)
    assert why_talk_ends(hearing, int((100 + MAX_PRESS_S) * S) - 1) is None
    assert "longest press" in str(why_talk_ends(hearing, int((100 + MAX_PRESS_S) * S)))
    assert why_talk_ends(hearing, 102 * S, device_lost="connection reset") == (
        "the device dropped the session: connection reset")
