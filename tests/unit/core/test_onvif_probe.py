"""What a discovered or probed ONVIF device means: scopes, XAddrs, profile choice, live notes, clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.core.onvif_probe import (
    Profile,
    advertised_vs_received,
    already_recorded,
    choose_profiles,
    clock_report,
    configured_by_host,
    fix_xaddr,
    live_note,
    parse_scopes,
    percent_decode,
    propose_camera_id,
    split_url,
    strip_credentials,
)
from vigil.core.probe_networks import DEFAULT_PROBE_NETWORKS  # noqa: F401 - the module imports cleanly


def test_scopes() -> None:
    info = parse_scopes(["onvif://www.onvif.org/type/video_encoder", "onvif://www.onvif.org/name/AXIS%20P3245-V",
                         "onvif://www.onvif.org/hardware/P3245-V", "onvif://www.onvif.org/MfrName/MOBOTIX",
                         "onvif://www.onvif.org/name/second", "http://example.com/name/x"])
    assert (info.name, info.hardware, info.manufacturer) == ("AXIS P3245-V", "P3245-V", "MOBOTIX")
    assert parse_scopes(["onvif://www.onvif.org/name/MOBOTIX_M16"]).name == "MOBOTIX M16"
    assert parse_scopes([]).name is None


@given(st.lists(st.text(max_size=60), max_size=8))
def test_any_scopes_parse(scopes: list[str]) -> None:
    info = parse_scopes(scopes)
    assert info.name is None or len(info.name) <= 120


@given(st.text(max_size=60))
def test_percent_decoding_never_fails(text: str) -> None:
    percent_decode(text)


@pytest.mark.parametrize(("xaddr", "source", "fixed"), [
    ("http://0.0.0.0:8080/onvif/device_service", "10.0.0.5", "http://10.0.0.5:8080/onvif/device_service"),
    ("http://0.0.0.0/onvif/device_service", "127.0.0.1", "http://127.0.0.1/onvif/device_service"),
    ("http://localhost/onvif/device_service", "10.0.0.5", "http://10.0.0.5/onvif/device_service"),
    ("http://127.0.0.1:80/onvif/device_service", "127.0.0.1", "http://127.0.0.1:80/onvif/device_service"),
    ("http://10.0.0.9/onvif/device_service", "10.0.0.5", "http://10.0.0.9/onvif/device_service"),
    ("http://[::]:80/onvif", "fe80::2", "http://[fe80::2]:80/onvif"),
])
def test_fix_xaddr(xaddr: str, source: str, fixed: str) -> None:
    assert fix_xaddr(xaddr, source) == fixed


def test_urls_lose_their_credentials() -> None:
    assert strip_credentials("rtsp://admin:pw@10.0.0.5:554/s1?x=1") == "rtsp://10.0.0.5:554/s1?x=1"
    assert strip_credentials("rtsp://10.0.0.5/s1") == "rtsp://10.0.0.5/s1"
    assert split_url("not a url") is None and split_url("rtsp://h:99999/") is None


@given(st.text(max_size=80))
def test_split_url_never_raises(text: str) -> None:
    parsed = split_url(text)
    if parsed is not None:
        assert "@" not in parsed.text() or "@" in parsed.rest


P = Profile


def test_main_is_the_largest_h264_and_sub_the_smallest() -> None:
    choice = choose_profiles([P("a", "a", "H264", 1920, 1080, 30), P("b", "b", "H264", 640, 360, 15),
                              P("c", "c", "JPEG", 320, 240, 5), P("d", "d", "H264", 1280, 720, 25)])
    assert (choice.main and choice.main.token, choice.sub and choice.sub.token) == ("a", "b")
    assert choice.warnings == ()


def test_an_h265_main_is_recorded_and_flagged_with_live_from_the_h264_sub() -> None:
    choice = choose_profiles([P("a", "a", "H265", 3840, 2160, 20), P("b", "b", "H264", 640, 360, 15)])
    assert (choice.main and choice.main.token, choice.sub and choice.sub.token) == ("a", "b")
    assert "H.265" in choice.warnings[0] and "H.264 substream" in choice.warnings[0]
    alone = choose_profiles([P("a", "a", "H265", 2560, 1440, 20)])
    assert alone.main is not None and alone.sub is None and "no live video" in alone.warnings[0]
    tie = choose_profiles([P("a", "a", "H265", 1920, 1080, 20), P("b", "b", "H264", 1920, 1080, 20)])
    assert tie.main is not None and tie.main.token == "b"
    jpeg = choose_profiles([P("j", "j", "JPEG", 640, 480, 5)])
    assert jpeg.main is not None and "cannot be recorded" in jpeg.warnings[0]


def test_one_h264_profile_has_no_substream() -> None:
    choice = choose_profiles([P("a", "a", "H264", 1280, 960, 25), P("b", "b", "JPEG", 640, 480, 8)])
    assert choice.main is not None and choice.sub is None and "substream" in choice.warnings[0]
    assert choose_profiles([]).main is None


def test_live_notes() -> None:
    assert live_note("h264", False, True, True)[0]
    ok, note = live_note("hevc", False, True, True)
    assert not ok and "will not play live" in note and "substream will" in note
    ok, note = live_note("h264", True, True, False)
    assert not ok and "B-frames" in note and "substream" not in note
    assert not live_note("mjpeg", False, False, False)[0]


def test_clock() -> None:
    assert clock_report(1000.0, 1003.0).warning is None
    late = clock_report(1000.0, 1100.0)
    assert late.skew_s == -100.0 and late.warning is not None and "100 s behind" in late.warning
    assert clock_report(None, 5.0).skew_s is None


def test_camera_ids() -> None:
    assert propose_camera_id("P3245-V", "10.0.0.5") == "p3245-v"
    assert propose_camera_id(None, "10.0.0.5") == "cam-10-0-0-5"
    assert propose_camera_id("___", "fe80::1") == "cam-fe80-1"


def test_a_stream_already_configured_is_named_whatever_its_spelling() -> None:
    cameras = (("hs-gym", "rtsp://10.0.0.5/axis-media/media.amp", "rtsp://10.0.0.5:554/sub"),
               ("hs-east", "rtsp://10.0.0.6:8554/main", None))
    probed = ("rtsp://admin:pw@10.0.0.5:554/axis-media/media.amp",  # credentials and the default port
              "rtsp://10.0.0.5/sub", "rtsp://10.0.0.6/main", "rtsp://10.0.0.5/other")
    warnings = already_recorded(probed, cameras)
    assert warnings == ("the stream rtsp://10.0.0.5:554/axis-media/media.amp is already configured: camera hs-gym"
                        " records it", "the stream rtsp://10.0.0.5/sub is already configured: camera hs-gym shows"
                        " it live")
    assert "pw" not in " ".join(warnings)
    assert already_recorded(("not a url",), cameras) == ()


def test_a_device_is_marked_by_the_first_camera_on_its_host() -> None:
    cameras = (("hs-gym", "rtsp://10.0.0.5/a"), ("hs-gym-2", "rtsp://10.0.0.5:8554/b"),
               ("hs-v6", "rtsp://[fd00::0:5]/c"), ("hs-name", "rtsp://Cam-East.local/d"))
    assert configured_by_host(cameras, "10.0.0.5:80") == "hs-gym"
    assert configured_by_host(cameras, "[fd00::5]:8080") == "hs-v6"  # the address's canonical form
    assert configured_by_host(cameras, "cam-east.local:80") == "hs-name"
    assert configured_by_host(cameras, "10.0.0.6:80") is None


def test_what_a_stream_sends_against_what_its_profile_says() -> None:
    profile = Profile("p1", "main", "H264", 1920, 1080, 15.0)
    assert advertised_vs_received(profile, "h264", 1920, 1080) == ()  # the decoder's name, the same family
    assert advertised_vs_received(profile, "hevc", 1280, 720) == (
        "profile p1 says H264 but sends hevc", "profile p1 says 1920x1080 but sends 1280x720")

