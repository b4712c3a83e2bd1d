"""core/backchannel_sdp.py: which track takes our audio, the RTP we send, and fuzzing of the picker."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.backchannel_sdp import (
    BackchannelTrack,
    RtpPacketizer,
    pick_backchannel,
    rtp_header,
)
from vigil.core.errors import TalkUnsupportedError
from vigil.core.media import AudioCodec
from vigil.core.sdp import resolve_control

# The ONVIF Streaming Specification's example answer (§5.3.1), a camera with video, microphone, speaker.
ONVIF_EXAMPLE = """v=0
o=- 2890842807 2890842807 IN IP4 192.168.0.1
s=RTSP Session with audiobackchannel
m=video 0 RTP/AVP 26
a=control:rtsp://192.168.0.1/video
a=recvonly
m=audio 0 RTP/AVP 0
a=control:rtsp://192.168.0.1/audio
a=recvonly
m=audio 0 RTP/AVP 0
a=control:rtsp://192.168.0.1/audioback
a=rtpmap:0 PCMU/8000
a=sendonly
"""

HIKVISION_LIKE = (
    "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=Media Presentation\r\na=control:*\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n"
    "m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=control:trackID=2\r\n"
    "m=audio 0 RTP/AVP 8 0 97\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:97 MPEG4-GENERIC/16000/1\r\na=control:trackID=4\r\na=sendonly\r\n"
)


def test_the_onvif_example() -> None:
    assert pick_backchannel(ONVIF_EXAMPLE, "rtsp://192.168.0.1/") == BackchannelTrack(
        "rtsp://192.168.0.1/audioback", 0, AudioCodec.PCMU
    )


def test_pcmu_is_preferred_and_relative_controls_resolve() -> None:
    track = pick_backchannel(HIKVISION_LIKE, "rtsp://10.0.0.5:554/Streaming/Channels/101/")
    assert track == BackchannelTrack("rtsp://10.0.0.5:554/Streaming/Channels/101/trackID=4", 0, AudioCodec.PCMU)


def test_pcma_and_dynamic_payload_types() -> None:
    sdp = "v=0\nm=audio 0 RTP/AVP 110\na=rtpmap:110 pcma/8000/1\na=control:back\na=sendonly\n"
    assert pick_backchannel(sdp, "rtsp://cam/s") == BackchannelTrack("rtsp://cam/s/back", 110, AudioCodec.PCMA)


def test_session_level_direction_applies_to_its_media() -> None:
    sdp = "v=0\na=sendonly\nm=audio 0 RTP/AVP 8\na=control:*\n"
    assert pick_backchannel(sdp, "rtsp://cam/s") == BackchannelTrack("rtsp://cam/s", 8, AudioCodec.PCMA)


@pytest.mark.parametrize(
    ("sdp", "match"),
    [
        ("v=0\nm=audio 0 RTP/AVP 0\na=recvonly\n", "no audio backchannel"),
        ("v=0\nm=video 0 RTP/AVP 96\na=sendonly\n", "no audio backchannel"),
        ("v=0\nm=audio 0 RTP/AVP 97\na=rtpmap:97 G726-32/8000\na=sendonly\n", "G726-32/8000"),
        ("v=0\nm=audio 0 RTP/AVP 0\na=rtpmap:0 PCMU/16000\na=sendonly\n", "PCMU/16000"),
        ("v=0\nm=audio 0 RTP/AVP 14\na=sendonly\n", "payload type 14"),
        ("", "no audio backchannel"),
        ("v=0\n" + "a=x\n" * 2000, "lines"),
    ],
)
def test_what_we_cannot_send_is_unsupported_and_says_why(sdp: str, match: str) -> None:
    with pytest.raises(TalkUnsupportedError, match=match):
        pick_backchannel(sdp, "rtsp://cam/")


def test_control_resolution() -> None:
    assert resolve_control("rtsp://cam/a/", "rtsp://other/b") == "rtsp://other/b"
    assert resolve_control("rtsp://cam/a/", "*") == "rtsp://cam/a/"
    assert resolve_control("rtsp://cam/a", None) == "rtsp://cam/a"
    assert resolve_control("rtsp://cam/a/", "/t2") == "rtsp://cam/a/t2"


def test_rtp_header_bits() -> None:
    assert rtp_header(8, 0x1234, 0x01020304, 0xDEADBEEF, True) == bytes.fromhex("8088123401020304deadbeef")
    assert rtp_header(0, 65536 + 5, 2**32 + 7, 1, False)[:8] == bytes.fromhex("8000000500000007")
    with pytest.raises(ValueError):
        rtp_header(128, 0, 0, 0, False)


def test_packetizer_cuts_20ms_packets_and_wraps() -> None:
    packetizer = RtpPacketizer(0, 0xCAFE, 65535, 2**32 - 160)
    packets = packetizer.packets(bytes(range(256)) * 2)  # 512 bytes: 160 + 160 + 160 + 32
    assert [len(p) - 12 for p in packets] == [160, 160, 160, 32]
    assert [int.from_bytes(p[2:4], "big") for p in packets] == [65535, 0, 1, 2]
    assert [int.from_bytes(p[4:8], "big") for p in packets] == [2**32 - 160, 0, 160, 320]
    assert [p[1] >> 7 for p in packets] == [1, 0, 0, 0]  # marker: the start of the talk spurt only
    assert b"".join(p[12:] for p in packets) == bytes(range(256)) * 2
    assert packetizer.packets(b"") == []


_line = st.one_of(
    st.sampled_from(["m=audio 0 RTP/AVP 0", "m=audio 0 RTP/AVP 8 97", "m=video 0 RTP/AVP 96", "a=sendonly",
                     "a=recvonly", "a=control:x", "a=control:*", "a=rtpmap:97 PCMA/8000", "a=rtpmap:0 G726/8000",
                     "m=", "a=", "m=audio", "a=rtpmap:", "a=rtpmap:999999999999 PCMU/8000"]),
    st.text(max_size=40),
)


@settings(max_examples=300)
@given(st.lists(_line, max_size=30), st.text(max_size=30))
def test_any_sdp_gives_a_g711_track_or_the_modules_own_error(lines: list[str], base: str) -> None:
    try:
        track = pick_backchannel("\n".join(lines), base)
    except TalkUnsupportedError:
        return
    assert track.codec in (AudioCodec.PCMU, AudioCodec.PCMA) and 0 <= track.payload_type <= 127
