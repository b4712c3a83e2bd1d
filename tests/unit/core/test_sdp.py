"""core/sdp.py: reading cameras' SDPs, choosing the tracks to record, and fuzzing of both."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.media import AudioCodec, AudioInfo, Codec
from vigil.core.sdp import (
    MAX_MEDIA,
    MAX_SDP_LINES,
    AudioTrack,
    RtpMap,
    SdpError,
    VideoTrack,
    parse_sdp,
    pick_tracks,
    resolve_control,
)

SPS = bytes.fromhex("6742c016da0280bfe5c05a83030352800000030080000000f478b175")
PPS = bytes.fromhex("68ce3c80")
VPS265 = bytes.fromhex("40010c01ffff016000000300900000030000030078959809")
SPS265 = bytes.fromhex("420101016000000300900000030000030078a00502016965959a4932bc05a80808082000000300200000030321")
PPS265 = bytes.fromhex("4401c172b46240")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# What GStreamer's rtsp-server answers for the sim camera with AAC (o= line shortened).
GSTREAMER_AAC = (
    "v=0\r\no=- 1188340656180883 1 IN IP4 127.0.0.1\r\ns=Session streamed with GStreamer\r\n"
    "i=rtsp-server\r\nt=0 0\r\na=tool:GStreamer\r\na=type:broadcast\r\na=control:*\r\na=range:npt=now-\r\n"
    "m=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\nb=AS:1000\r\na=rtpmap:96 H264/90000\r\n"
    f"a=fmtp:96 packetization-mode=1;profile-level-id=42c016;sprop-parameter-sets={b64(SPS)},{b64(PPS)}\r\n"
    "a=control:stream=0\r\na=framerate:15\r\n"
    "m=audio 0 RTP/AVP 97\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:97 MPEG4-GENERIC/48000/1\r\n"
    "a=fmtp:97 streamtype=5;profile-level-id=2;mode=AAC-hbr;config=118856e500;sizelength=13;"
    "indexlength=3;indexdeltalength=3\r\na=control:stream=1\r\n"
)

HIKVISION_H265 = (
    "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=Media Presentation\r\ne=NONE\r\nb=AS:5100\r\nt=0 0\r\n"
    "a=control:rtsp://10.0.0.5:554/Streaming/Channels/101/?transportmode=unicast\r\n"
    "m=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\nb=AS:5000\r\na=recvonly\r\n"
    "a=x-dimensions:2560,1440\r\n"
    "a=control:rtsp://10.0.0.5:554/Streaming/Channels/101/trackID=1?transportmode=unicast\r\n"
    "a=rtpmap:96 H265/90000\r\n"
    f"a=fmtp:96 profile-id=1; sprop-sps={b64(SPS265)}; sprop-pps={b64(PPS265)}; sprop-vps={b64(VPS265)}\r\n"
    "m=audio 0 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\nb=AS:50\r\na=recvonly\r\n"
    "a=control:rtsp://10.0.0.5:554/Streaming/Channels/101/trackID=2?transportmode=unicast\r\n"
    "a=Media_header:MEDIAINFO=494D4B48010300000400050000000000000000000000000000000000000000000000000000000000;\r\n"
    "a=appversion:1.0\r\n"
)

ONVIF_BACKCHANNEL = (
    "v=0\no=- 0 0 IN IP4 192.168.0.1\ns=-\n"
    "m=video 0 RTP/AVP 97\na=rtpmap:97 H264/90000\na=control:video\na=recvonly\n"
    "m=audio 0 RTP/AVP 0\na=control:audioback\na=rtpmap:0 PCMU/8000\na=sendonly\n"
    "m=audio 0 RTP/AVP 8\na=control:audio\na=recvonly\n"
)


def test_sections_rtpmaps_fmtp_and_controls() -> None:
    sd = parse_sdp(GSTREAMER_AAC)
    assert sd.control == "*"
    video, audio = sd.media
    assert (video.kind, video.payload_types, video.control, video.direction) == ("video", (96,), "stream=0", "sendrecv")
    assert video.rtpmap(96) == RtpMap(96, "H264", 90000, 1)
    assert video.rtpmap(97) is None
    params = video.fmtp_params(96)
    assert params["packetization-mode"] == "1"
    assert params["sprop-parameter-sets"] == f"{b64(SPS)},{b64(PPS)}"  # the "=" of base64 stays in the value
    assert audio.rtpmap(97) == RtpMap(97, "MPEG4-GENERIC", 48000, 1)
    assert audio.fmtp_params(97)["mode"] == "AAC-hbr"
    assert audio.fmtp_params(96) == {}


def test_static_payload_types_and_directions() -> None:
    sd = parse_sdp("v=0\na=recvonly\nm=audio 0 RTP/AVP 0 8 14 x 200\na=inactive\nm=audio 0 RTP/AVP 8\n")
    first, second = sd.media
    assert first.payload_types == (0, 8, 14)  # formats that are not payload types 0-127 are left out
    assert first.rtpmap(0) == RtpMap(0, "PCMU", 8000, 1) and first.rtpmap(8) == RtpMap(8, "PCMA", 8000, 1)
    assert first.rtpmap(14) is None
    assert (first.direction, second.direction) == ("inactive", "recvonly")


def test_unreadable_attribute_lines_are_skipped() -> None:
    sd = parse_sdp("\n\nv=0\r\nnonsense\n\0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264\na=rtpmap:96 H264/0\n"
                   "a=rtpmap:x H264/90000\na=fmtp:\na=rtpmap:96 h264/90000/1/9\n")
    assert sd.media[0].rtpmaps == ()
    sd = parse_sdp("v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 h264/90000\n")
    assert sd.media[0].rtpmap(96) == RtpMap(96, "H264", 90000, 1)  # upper-cased


def test_h264_track_with_its_parameter_sets_as_annexb() -> None:
    video, audio = pick_tracks(parse_sdp(GSTREAMER_AAC), "rtsp://127.0.0.1:8554/cam/", want_audio=True)
    assert video == VideoTrack("rtsp://127.0.0.1:8554/cam/stream=0", 96, Codec.H264, 90000,
                               b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x00\x01" + PPS)
    assert audio == AudioTrack(
        "rtsp://127.0.0.1:8554/cam/stream=1", 97, AudioInfo(AudioCodec.AAC, 48000, 1, bytes.fromhex("118856e500")),
        48000,
        (("streamtype", "5"), ("profile-level-id", "2"), ("mode", "AAC-hbr"), ("config", "118856e500"),
         ("sizelength", "13"), ("indexlength", "3"), ("indexdeltalength", "3")),
    )
    assert pick_tracks(parse_sdp(GSTREAMER_AAC), "rtsp://h/cam", want_audio=False)[1] is None


def test_h265_parameter_sets_go_vps_sps_pps_and_absolute_controls_stay() -> None:
    video, audio = pick_tracks(parse_sdp(HIKVISION_H265), "rtsp://10.0.0.5/Streaming/Channels/101", True)
    start = b"\x00\x00\x00\x01"
    assert video.codec is Codec.H265
    assert video.extradata == start + VPS265 + start + SPS265 + start + PPS265
    assert video.control_url == "rtsp://10.0.0.5:554/Streaming/Channels/101/trackID=1?transportmode=unicast"
    assert audio is not None and audio.info == AudioInfo(AudioCodec.PCMU, 8000, 1, b"") and audio.payload_type == 0


def test_fmtp_names_are_case_insensitive() -> None:
    sdp = f"v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 Sprop-Parameter-Sets={b64(SPS)} ;X=Y\n"
    sd = parse_sdp(sdp)
    assert sd.media[0].fmtp_params(96) == {"sprop-parameter-sets": b64(SPS), "x": "Y"}
    assert pick_tracks(sd, "rtsp://h/", False)[0].extradata == b"\x00\x00\x00\x01" + SPS


def test_missing_or_broken_parameter_sets_give_what_can_be_read() -> None:
    sdp = ("v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\n"
           f"a=fmtp:96 sprop-parameter-sets=%%%,{b64(PPS).rstrip('=')},\n")
    assert pick_tracks(parse_sdp(sdp), "rtsp://h/", False)[0].extradata == b"\x00\x00\x00\x01" + PPS
    sdp = "v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H265/90000\n"
    assert pick_tracks(parse_sdp(sdp), "rtsp://h/", False)[0].extradata == b""


def test_the_backchannel_is_not_recorded() -> None:
    video, audio = pick_tracks(parse_sdp(ONVIF_BACKCHANNEL), "rtsp://192.168.0.1/media", True)
    assert video.control_url == "rtsp://192.168.0.1/media/video"
    assert audio is not None and audio.control_url == "rtsp://192.168.0.1/media/audio"
    assert audio.info.codec is AudioCodec.PCMA
    only_back = ONVIF_BACKCHANNEL.rsplit("m=audio 0 RTP/AVP 8", 1)[0]
    assert pick_tracks(parse_sdp(only_back), "rtsp://192.168.0.1/media", True)[1] is None


@pytest.mark.parametrize(
    ("audio_section", "expected"),
    [
        ("m=audio 0 RTP/AVP 8\n", AudioInfo(AudioCodec.PCMA, 8000, 1, b"")),
        ("m=audio 0 RTP/AVP 101\na=rtpmap:101 pcmu/16000/2\n", AudioInfo(AudioCodec.PCMU, 16000, 2, b"")),
        ("m=audio 0 RTP/AVP 111\na=rtpmap:111 opus/48000/2\na=fmtp:111 sprop-stereo=0\n",
         AudioInfo(AudioCodec.OPUS, 48000, 2, b"")),
        ("m=audio 0 RTP/AVP 97 0\na=rtpmap:97 G726-32/8000\n", AudioInfo(AudioCodec.PCMU, 8000, 1, b"")),
        ("m=audio 0 RTP/AVP 97\na=rtpmap:97 mpeg4-generic/16000/2\na=fmtp:97 mode=aac-hbr; config=1410\n",
         AudioInfo(AudioCodec.AAC, 16000, 2, b"\x14\x10")),
        ("m=audio 0 RTP/AVP 97\na=rtpmap:97 MPEG4-GENERIC/16000\na=fmtp:97 mode=AAC-lbr;config=1410\n", None),
        ("m=audio 0 RTP/AVP 97\na=rtpmap:97 MPEG4-GENERIC/16000\na=fmtp:97 mode=AAC-hbr;config=zz\n", None),
        ("m=audio 0 RTP/AVP 97\na=rtpmap:97 MPEG4-GENERIC/16000\na=fmtp:97 mode=AAC-hbr\n", None),
        ("m=audio 0 RTP/AVP 97\na=rtpmap:97 MP4A-LATM/16000\n", None),
        ("m=audio 0 RTP/AVP 0\na=inactive\n", None),
    ],
)
def test_audio_codecs(audio_section: str, expected: AudioInfo | None) -> None:
    sdp = "v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=control:v\n" + audio_section + "a=control:a\n"
    audio = pick_tracks(parse_sdp(sdp), "rtsp://h/s", True)[1]
    assert (audio.info if audio else None) == expected


def test_the_first_usable_video_payload_wins() -> None:
    sdp = ("v=0\nm=video 0 RTP/AVP 26\na=control:mjpeg\nm=video 0 RTP/AVP 98 96\na=rtpmap:98 MP4V-ES/90000\n"
           "a=rtpmap:96 HEVC/90000\na=control:hevc\na=sendonly\n")
    video = pick_tracks(parse_sdp(sdp), "rtsp://h/s", False)[0]
    assert (video.payload_type, video.codec, video.control_url) == (96, Codec.H265, "rtsp://h/s/hevc")


@pytest.mark.parametrize(
    ("sdp", "offered"),
    [
        ("v=0\nm=video 0 RTP/AVP 26\nm=audio 0 RTP/AVP 0\n", "video 26, audio PCMU/8000"),
        ("v=0\nm=video 0 RTP/AVP 98\na=rtpmap:98 MP4V-ES/90000\n", "video MP4V-ES/90000"),
        ("v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=inactive\n", "video H264/90000 (inactive)"),
        ("v=0\n", "nothing"),
    ],
)
def test_no_usable_video_names_what_is_offered(sdp: str, offered: str) -> None:
    with pytest.raises(SdpError, match=r"no H\.264/H\.265 video") as e:
        pick_tracks(parse_sdp(sdp), "rtsp://h/", True)
    assert str(e.value).endswith(f"(it offers {offered})")


def test_controls_resolve_against_the_session_base() -> None:
    sdp = "v=0\na=control:rtsp://other:554/live/\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=control:t1\n"
    assert pick_tracks(parse_sdp(sdp), "rtsp://h/s", False)[0].control_url == "rtsp://other:554/live/t1"
    sdp = "v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\n"
    assert pick_tracks(parse_sdp(sdp), "rtsp://h/s", False)[0].control_url == "rtsp://h/s"
    assert resolve_control("rtsp://cam/a/", "rtsp://other/b") == "rtsp://other/b"
    assert resolve_control("rtsp://cam/a/", "*") == "rtsp://cam/a/"
    assert resolve_control("rtsp://cam/a", "/t2") == "rtsp://cam/a/t2"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("\r\n  \n", "empty"),
        ("RTSP/1.0 200 OK\r\n", "not an SDP"),
        ("<html>v=0</html>", "not an SDP"),
        ("v=0\n" + "a=x\n" * MAX_SDP_LINES, "lines"),
        ("v=0\n" + "x" * 70000, "characters"),
        ("v=0\n" + "m=video 0 RTP/AVP 96\n" * (MAX_MEDIA + 1), "media sections"),
    ],
)
def test_junk_and_oversized_sdps_are_refused(text: str, match: str) -> None:
    with pytest.raises(SdpError, match=match):
        parse_sdp(text)


_line = st.one_of(
    st.sampled_from([
        "v=0", "m=video 0 RTP/AVP 96", "m=audio 0 RTP/AVP 0 8 97", "m=", "m=video", "a=rtpmap:96 H264/90000",
        "a=rtpmap:96 H265/90000", "a=rtpmap:97 MPEG4-GENERIC/44100/2", "a=rtpmap:97 opus/48000/2", "a=sendonly",
        "a=fmtp:96 sprop-parameter-sets=Z0LAFg==,aM48gA==", "a=fmtp:96 sprop-vps=QAEM;sprop-sps=!!;sprop-pps=",
        "a=fmtp:97 mode=AAC-hbr;config=1190", "a=fmtp:97 mode=AAC-hbr;config=1", "a=control:*", "a=control:t",
        "a=rtpmap:999999999999999 H264/90000", "a=rtpmap:96 H264/99999999999999", "a=fmtp:96", "a=inactive",
    ]),
    st.text(max_size=40),
)


@settings(max_examples=400)
@given(st.lists(_line, max_size=40), st.booleans())
def test_any_text_parses_or_raises_sdp_error_only(lines: list[str], want_audio: bool) -> None:
    try:
        sd = parse_sdp("\n".join(lines))
        video, audio = pick_tracks(sd, "rtsp://h/", want_audio)
    except SdpError:
        return
    assert len(sd.media) <= MAX_MEDIA
    assert video.codec in (Codec.H264, Codec.H265) and 0 <= video.payload_type <= 127
    assert audio is None or (want_audio and audio.info.codec in AudioCodec)
