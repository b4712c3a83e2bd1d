"""Which sound a live viewer gets (core/listen.py), and what a WHEP offer's audio section says
(core/whep_offer.py): each with its own table."""

from __future__ import annotations

import pytest

from vigil.core.errors import BadRequestError
from vigil.core.listen import AudioPlan, AudioRoute, codec_name, plan_audio
from vigil.core.media import AudioCodec
from vigil.core.whep_offer import screen_offer

CHROME = ("OPUS", "RED", "G722", "PCMU", "PCMA", "CN", "TELEPHONE-EVENT")
P, T = AudioRoute.PASSTHROUGH, AudioRoute.TRANSCODE


@pytest.mark.parametrize(("camera", "offered", "plan"), [
    (None, CHROME, None),  # the camera sends no audio the appliance takes
    (AudioCodec.PCMA, (), None),  # the viewer asked for no sound
    (AudioCodec.PCMU, CHROME, AudioPlan(P, "audio/PCMU", AudioCodec.PCMU)),
    (AudioCodec.PCMA, CHROME, AudioPlan(P, "audio/PCMA", AudioCodec.PCMA)),
    (AudioCodec.PCMA, ("pcma",), AudioPlan(P, "audio/PCMA", AudioCodec.PCMA)),  # case-insensitive
    (AudioCodec.OPUS, CHROME, AudioPlan(P, "audio/opus", AudioCodec.OPUS)),
    (AudioCodec.AAC, CHROME, AudioPlan(T, "audio/opus", AudioCodec.AAC)),
    (AudioCodec.PCMA, ("OPUS", "PCMU"), AudioPlan(T, "audio/opus", AudioCodec.PCMA)),  # law missing: Opus
    (AudioCodec.AAC, ("PCMU", "PCMA"), None),  # no Opus to re-encode to
    (AudioCodec.PCMU, ("PCMA",), None),
])
def test_plan_audio(camera: AudioCodec | None, offered: tuple[str, ...], plan: AudioPlan | None) -> None:
    assert plan_audio(camera, offered) == plan


def test_describe_and_api_names() -> None:
    assert AudioPlan(P, "audio/PCMA", AudioCodec.PCMA).describe() == "pcma"
    assert AudioPlan(T, "audio/opus", AudioCodec.AAC).describe() == "opus from aac"
    assert [codec_name(c) for c in AudioCodec] == ["pcmu", "pcma", "aac", "opus"]


HEAD = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\n"
VIDEO = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 H264/90000\r\n"
AUDIO = ("m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n"
         "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n")


@pytest.mark.parametrize(("sdp", "codecs"), [
    (HEAD + VIDEO, ()),
    (HEAD + VIDEO + AUDIO, ("OPUS", "PCMU", "PCMA")),
    (HEAD + AUDIO + VIDEO, ("OPUS", "PCMU", "PCMA")),  # audio first: still fine
    # static payload types without rtpmap lines
    (HEAD + VIDEO + "m=audio 9 UDP/TLS/RTP/SAVPF 8 0\r\nc=IN IP4 0.0.0.0\r\n", ("PCMA", "PCMU")),
    # only the first audio section counts
    (HEAD + VIDEO + AUDIO + "m=audio 9 UDP/TLS/RTP/SAVPF 9\r\na=rtpmap:9 G722/8000\r\n", ("OPUS", "PCMU", "PCMA")),
    # an rtpmap in the video section is no audio codec
    (HEAD + VIDEO + "a=rtpmap:97 opus/48000/2\r\n", ()),
])
def test_offer_audio_codecs(sdp: str, codecs: tuple[str, ...]) -> None:
    assert screen_offer(sdp.encode(), ["192.168.1.10"]).audio_codecs == codecs


def test_audio_without_video_is_still_refused() -> None:
    with pytest.raises(BadRequestError, match="no video section"):
        screen_offer((HEAD + AUDIO).encode(), ["192.168.1.10"])
