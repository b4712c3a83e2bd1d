"""core/rtsp_client.py: scripted conversations (bytes in, bytes and events out) for every branch of the
RTSP client session, and fuzzing of what a camera may send."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.camera_modes import Transport
from vigil.core.media import AudioCodec, Codec, DownReason
from vigil.core.rtsp_client import (
    MAX_STALE_ANSWERS,
    ClientEvent,
    Interleaved,
    Playing,
    Redirected,
    RtspClient,
    RtspClientError,
)
from vigil.core.rtsp_messages import (
    MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    RtspReader,
    RtspRequest,
    RtspResponse,
    encode_interleaved,
    encode_request,
    encode_response,
)
from vigil.core.sdp import AudioTrack, VideoTrack

URL = "rtsp://cam.local:554/live"
SDP = (
    b"v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=cam\r\nt=0 0\r\na=control:*\r\n"
    b"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    b"a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAFg==,aM48gA==\r\na=control:trackID=1\r\n"
    b"m=audio 0 RTP/AVP 8\r\na=control:trackID=2\r\n"
)
OK = (("Public", "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"),)


class Camera:
    """The camera's side of a scripted conversation: reads the client's requests, answers them."""

    def __init__(self, client: RtspClient) -> None:
        self.client = client
        self.requests: list[RtspRequest] = []

    def request(self) -> RtspRequest:
        """The one request the client has queued (it never has more than one in flight)."""
        reader = RtspReader()
        reader.feed(self.client.data_to_send())
        request = reader.next_event()
        assert isinstance(request, RtspRequest), request
        assert reader.next_event() is None and reader.buffered == 0, "more than one request in flight"
        self.requests.append(request)
        return request

    def answer(self, status: int, headers: tuple[tuple[str, str], ...] = (), body: bytes = b"",
               now_s: float = 0.0, before: bytes = b"", after: bytes = b"") -> list[ClientEvent]:
        request = self.requests[-1]
        data = before + encode_response(status, "Reason", request.header("CSeq"), headers, body) + after
        return self.client.receive_data(data, now_s)

    def step(self, method: str, status: int = 200, headers: tuple[tuple[str, str], ...] = (),
             body: bytes = b"", now_s: float = 0.0) -> list[ClientEvent]:
        request = self.request()
        assert request.method == method, (request.method, method)
        return self.answer(status, headers, body, now_s)

    def to_setup(self, sdp: bytes = SDP, public: tuple[tuple[str, str], ...] = OK) -> None:
        assert self.step("OPTIONS", 200, public) == []
        assert self.step("DESCRIBE", 200, (("Content-Base", URL + "/"),), sdp) == []

    def to_playing(self, session: str = "12345678;timeout=30", sdp: bytes = SDP) -> Playing:
        self.to_setup(sdp)
        video = "RTP/AVP/TCP;unicast;interleaved=0-1"
        assert self.step("SETUP", 200, (("Session", session), ("Transport", video))) == []
        if b"m=audio" in sdp and self.client._want_audio:
            transport = "RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=0000BEEF"
            assert self.step("SETUP", 200, (("Session", session), ("Transport", transport))) == []
        events = self.step("PLAY", 200, (("Session", session), ("RTP-Info", f"url={URL}/trackID=1;seq=1")))
        assert len(events) == 1 and isinstance(events[0], Playing)
        return events[0]


def tcp_client(audio: bool = True, user: str | None = None, password: str | None = None) -> RtspClient:
    return RtspClient(URL, user, password, Transport.TCP, audio, 0.0, cnonce="0a4f113b")


def failure(client: RtspClient, data: bytes) -> RtspClientError:
    with pytest.raises(RtspClientError) as e:
        client.receive_data(data, 0.0)
    return e.value


def test_the_whole_conversation_over_tcp() -> None:
    client = tcp_client()
    camera = Camera(client)
    playing = camera.to_playing()
    options, describe, setup_video, setup_audio, play = camera.requests
    assert (options.uri, options.header("CSeq"), options.header("User-Agent")) == (URL, "1", "Vigil")
    assert (describe.uri, describe.header("Accept"), describe.header("Session")) == (URL, "application/sdp", None)
    assert setup_video.uri == URL + "/trackID=1" and setup_video.header("Session") is None
    assert setup_video.header("Transport") == "RTP/AVP/TCP;unicast;interleaved=0-1"
    assert setup_audio.uri == URL + "/trackID=2" and setup_audio.header("Session") == "12345678"
    assert setup_audio.header("Transport") == "RTP/AVP/TCP;unicast;interleaved=2-3"
    assert (play.uri, play.header("Range"), play.header("Session")) == (URL + "/", "npt=0.000-", "12345678")
    assert [r.header("CSeq") for r in camera.requests] == ["1", "2", "3", "4", "5"]
    assert playing.session_timeout_s == 30
    video, audio = playing.video.track, playing.audio.track if playing.audio else None
    assert isinstance(video, VideoTrack) and isinstance(audio, AudioTrack)
    assert video.codec is Codec.H264 and video.extradata.startswith(b"\0\0\0\1gB")
    assert (playing.video.rtp_channel, playing.video.rtcp_channel, playing.video.ssrc) == (0, 1, None)
    assert playing.audio is not None and audio.info.codec is AudioCodec.PCMA
    assert (playing.audio.rtp_channel, playing.audio.rtcp_channel, playing.audio.ssrc) == (2, 3, 0xBEEF)
    assert playing.video.server_ports is None


def test_interleaved_frames_come_out_whenever_they_arrive() -> None:
    client = tcp_client(audio=False)
    camera = Camera(client)
    camera.to_setup()
    camera.step("SETUP", 200, (("Session", "s1"),))  # no Transport in the answer: what we asked for holds
    camera.request()
    rtp, rtcp = b"\x80\x60" + bytes(30), b"\x80\xc8" + bytes(26)
    events = camera.answer(200, (("Session", "s1"),), before=encode_interleaved(1, rtcp),
                           after=encode_interleaved(0, rtp))
    assert events[0] == Interleaved(1, rtcp) and isinstance(events[1], Playing) and events[2] == Interleaved(0, rtp)
    assert events[1].video.rtp_channel == 0 and events[1].audio is None and events[1].session_timeout_s == 60
    stream = encode_interleaved(0, rtp) * 3 + encode_interleaved(1, rtcp)
    got = [e for byte in range(len(stream)) for e in client.receive_data(stream[byte:byte + 1], 1.0)]
    assert got == [Interleaved(0, rtp)] * 3 + [Interleaved(1, rtcp)]


def test_the_servers_interleaved_pair_and_ssrc_win() -> None:
    client = tcp_client()
    camera = Camera(client)
    camera.to_setup()
    camera.step("SETUP", 200, (("Session", "s"), ("Transport", "RTP/AVP/TCP;unicast;interleaved=6-7;ssrc=DEADBEEF")))
    camera.step("SETUP", 200, (("Session", "s"), ("Transport", "RTP/AVP/TCP;unicast;interleaved=8;ssrc=xyz")))
    playing = camera.step("PLAY", 200)[0]
    assert isinstance(playing, Playing) and playing.audio is not None
    assert (playing.video.rtp_channel, playing.video.rtcp_channel, playing.video.ssrc) == (6, 7, 0xDEADBEEF)
    assert (playing.audio.rtp_channel, playing.audio.rtcp_channel, playing.audio.ssrc) == (8, 9, None)


def test_udp_asks_for_the_shells_ports_and_takes_the_servers() -> None:
    client = RtspClient(URL, None, None, Transport.UDP, True, 0.0, ((50000, 50001), (50002, 50003)))
    camera = Camera(client)
    camera.to_setup()
    camera.step("SETUP", 200, (("Session", "s"),
                               ("Transport", "RTP/AVP;unicast;client_port=50000-50001;server_port=6970-6971;ssrc=1A")))
    assert camera.requests[-1].header("Transport") == "RTP/AVP;unicast;client_port=50000-50001"
    camera.step("SETUP", 200, (("Session", "s"), ("Transport", "RTP/AVP/UDP;unicast;client_port=50002-50003")))
    assert camera.requests[-1].header("Transport") == "RTP/AVP;unicast;client_port=50002-50003"
    playing = camera.step("PLAY", 200)[0]
    assert isinstance(playing, Playing) and playing.audio is not None
    assert (playing.video.server_ports, playing.video.ssrc, playing.video.rtp_channel) == ((6970, 6971), 0x1A, None)
    assert (playing.audio.server_ports, playing.audio.ssrc) == (None, None)


def test_udp_needs_ports_and_audio_needs_its_own_pair() -> None:
    with pytest.raises(ValueError, match="port pair"):
        RtspClient(URL, None, None, Transport.UDP, True, 0.0)
    client = RtspClient(URL, None, None, Transport.UDP, True, 0.0, ((50000, 50001),))
    camera = Camera(client)
    camera.to_setup()
    camera.step("SETUP", 200, (("Session", "s"),))
    assert camera.request().method == "PLAY"  # no audio SETUP without a port pair for it


@pytest.mark.parametrize(
    ("transport", "answer"),
    [
        (Transport.TCP, "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971"),
        (Transport.TCP, "RTP/AVP/TCP;multicast;interleaved=0-1"),
        (Transport.TCP, "RTP/AVP/TCP;unicast"),
        (Transport.UDP, "RTP/AVP/TCP;unicast;interleaved=0-1"),
        (Transport.UDP, "RTP/AVP;multicast;destination=232.0.0.1;port=5000-5001"),
    ],
)
def test_an_unusable_video_transport_is_a_bad_stream(transport: Transport, answer: str) -> None:
    client = RtspClient(URL, None, None, transport, False, 0.0, ((5000, 5001),))
    camera = Camera(client)
    camera.to_setup()
    camera.request()
    with pytest.raises(RtspClientError, match="answered a") as e:
        camera.answer(200, (("Session", "s"), ("Transport", answer)))
    assert e.value.reason is DownReason.BAD_STREAM


@pytest.mark.parametrize(
    ("status", "transport"),
    [(461, None), (500, None), (200, "RTP/AVP;unicast;server_port=1-2"), (200, "RTP/AVP/TCP;unicast;interleaved=1-2")],
)
def test_audio_that_cannot_be_set_up_is_dropped_not_the_video(status: int, transport: str | None) -> None:
    client = tcp_client()
    camera = Camera(client)
    camera.to_setup()
    camera.step("SETUP", 200, (("Session", "s"),))
    camera.step("SETUP", status, (("Session", "s"),) + ((("Transport", transport),) if transport else ()))
    playing = camera.step("PLAY", 200)[0]
    assert isinstance(playing, Playing) and playing.audio is None and playing.video.rtp_channel == 0


def test_keepalive_is_get_parameter_when_offered_every_half_timeout() -> None:
    client = tcp_client(audio=False)
    camera = Camera(client)
    camera.to_playing("abc;timeout=30")
    assert client.next_timer_s() == 15.0
    client.timer(14.9)
    assert client.data_to_send() == b""
    client.timer(15.0)
    keepalive = camera.step("GET_PARAMETER", 200, now_s=15.1)
    assert keepalive == [] and camera.requests[-1].header("Session") == "abc" and camera.requests[-1].uri == URL + "/"
    assert client.next_timer_s() == 30.0
    client.timer(31.0)
    assert camera.request().method == "GET_PARAMETER"
    client.timer(47.0)  # the last one is still unanswered: one request in flight at most
    assert client.data_to_send() == b"" and client.next_timer_s() == 47.0 + 15
    camera.answer(501)  # GET_PARAMETER not implemented after all: OPTIONS from now on
    client.timer(62.0)
    assert camera.request().method == "OPTIONS"


def test_keepalive_is_options_when_get_parameter_is_not_public() -> None:
    client = tcp_client(audio=False)
    camera = Camera(client)
    assert camera.step("OPTIONS", 200, (("Public", "OPTIONS, DESCRIBE, SETUP, PLAY"),)) == []
    camera.step("DESCRIBE", 200, (), SDP)
    camera.step("SETUP", 200, (("Session", "s;timeout=10"),))
    camera.step("PLAY", 200, now_s=100.0)
    assert client.next_timer_s() == 105.0
    client.timer(105.0)
    assert camera.request().method == "OPTIONS"
    with pytest.raises(RtspClientError, match="454") as e:
        camera.answer(454)
    assert e.value.reason is DownReason.ERROR


def test_options_the_camera_does_not_know_still_goes_on() -> None:
    client = tcp_client(audio=False)
    camera = Camera(client)
    camera.step("OPTIONS", 501)
    assert camera.request().method == "DESCRIBE"


def test_the_describe_base() -> None:
    sdp = b"v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H265/90000\na=control:track1\n"
    for headers, expected in [
        ((("Content-Base", "rtsp://10.1.1.1/base/"),), "rtsp://10.1.1.1/base/track1"),
        ((("Content-Location", "rtsp://10.1.1.1/loc"),), "rtsp://10.1.1.1/loc/track1"),
        ((("Content-Location", "relative"),), URL + "/track1"),
        ((), URL + "/track1"),
    ]:
        client = tcp_client(audio=False)
        camera = Camera(client)
        camera.step("OPTIONS")
        camera.step("DESCRIBE", 200, headers, sdp)
        assert camera.request().uri == expected


def test_close_tears_down_the_session_and_reads_no_more() -> None:
    client = tcp_client(audio=False)
    camera = Camera(client)
    camera.to_playing("s9")
    client.close()
    teardown = camera.request()
    assert (teardown.method, teardown.uri, teardown.header("Session")) == ("TEARDOWN", URL + "/", "s9")
    assert client.receive_data(encode_interleaved(0, b"x") + b"garbage\r\n\r\n", 1.0) == []
    assert client.next_timer_s() is None
    client.close()
    assert client.data_to_send() == b""
    early = tcp_client()
    early.data_to_send()
    early.close()  # no session yet: nothing to tear down
    assert early.data_to_send() == b""


def test_a_request_from_the_camera_is_answered_501() -> None:
    client = tcp_client(audio=False)
    camera = Camera(client)
    camera.to_playing()
    assert client.receive_data(encode_request("SET_PARAMETER", URL, 77), 1.0) == []
    reader = RtspReader()
    reader.feed(client.data_to_send())
    answer = reader.next_event()
    assert isinstance(answer, RtspResponse) and answer.status == 501 and answer.header("CSeq") == "77"


def test_an_answer_to_another_request_is_ignored() -> None:
    client = tcp_client(audio=False)
    camera = Camera(client)
    camera.request()
    assert client.receive_data(encode_response(200, "OK", "41", OK), 0.0) == []
    assert client.data_to_send() == b""  # still waiting for the OPTIONS answer
    camera.answer(200, OK)
    assert camera.request().method == "DESCRIBE"


def test_rtcp_receiver_reports_go_out_interleaved() -> None:
    client = tcp_client(audio=False)
    Camera(client).to_playing()
    client.send_interleaved(1, b"\x81\xc9" + bytes(30))
    assert client.data_to_send() == b"$\x01\x00\x20\x81\xc9" + bytes(30)


# -- authentication --


def _digest(algorithm: str, user: str, realm: str, password: str, method: str, uri: str, nonce: str,
            nc: int | None = None, cnonce: str = "0a4f113b") -> str:
    def h(text: str) -> str:
        hashed = hashlib.sha256 if algorithm == "SHA-256" else hashlib.md5
        return hashed(text.encode()).hexdigest()

    ha1, ha2 = h(f"{user}:{realm}:{password}"), h(f"{method}:{uri}")
    if nc is None:
        return h(f"{ha1}:{nonce}:{ha2}")
    return h(f"{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}")


def _param(header: str, name: str) -> str:
    for part in header.split(", "):
        key, _, value = part.partition("=")
        if key.split()[-1] == name:
            return value.strip('"')
    raise AssertionError(f"{name} not in {header}")


def test_basic_auth_is_answered_and_then_sent_with_every_request() -> None:
    client = tcp_client(audio=False, user="admin", password="s3cret")
    camera = Camera(client)
    camera.step("OPTIONS", 401, (("WWW-Authenticate", 'Basic realm="cam"'),))
    expected = "Basic " + base64.b64encode(b"admin:s3cret").decode()
    assert camera.request().header("Authorization") == expected and camera.requests[-1].method == "OPTIONS"
    camera.answer(200, OK)
    camera.step("DESCRIBE", 200, (), SDP)
    assert camera.requests[-1].header("Authorization") == expected


def test_digest_md5_without_qop() -> None:
    client = tcp_client(audio=False, user="u", password="p")
    camera = Camera(client)
    camera.step("OPTIONS")
    camera.step("DESCRIBE", 401, (("WWW-Authenticate", 'Digest realm="IP Camera", nonce="abc123"'),))
    describe = camera.request()
    auth = describe.header("Authorization") or ""
    assert describe.method == "DESCRIBE" and auth.startswith("Digest ")
    assert _param(auth, "uri") == URL and _param(auth, "nonce") == "abc123"
    assert _param(auth, "response") == _digest("MD5", "u", "IP Camera", "p", "DESCRIBE", URL, "abc123")
    camera.answer(200, (), SDP)
    setup = camera.request()
    auth = setup.header("Authorization") or ""
    assert _param(auth, "response") == _digest("MD5", "u", "IP Camera", "p", "SETUP", URL + "/trackID=1", "abc123")


def test_digest_sha256_is_preferred_and_counts_its_nonce_uses() -> None:
    client = tcp_client(audio=False, user="u", password="p")
    camera = Camera(client)
    camera.step("OPTIONS", 401, (
        ("WWW-Authenticate", 'Digest realm="r", nonce="n1", qop="auth", algorithm=MD5'),
        ("WWW-Authenticate", 'Digest realm="r", nonce="n2", qop="auth", algorithm=SHA-256, opaque="o"'),
    ))
    for nc, method, uri in [(1, "OPTIONS", URL), (2, "DESCRIBE", URL)]:
        request = camera.request()
        auth = request.header("Authorization") or ""
        assert (request.method, _param(auth, "algorithm"), _param(auth, "nc"), _param(auth, "opaque")) == (
            method, "SHA-256", f"{nc:08x}", "o")
        assert _param(auth, "response") == _digest("SHA-256", "u", "r", "p", method, uri, "n2", nc)
        camera.answer(200, OK if method == "OPTIONS" else (), SDP if method == "DESCRIBE" else b"")


def test_a_stale_nonce_is_answered_again_but_not_forever() -> None:
    client = tcp_client(audio=False, user="u", password="p")
    camera = Camera(client)
    camera.step("OPTIONS", 401, (("WWW-Authenticate", 'Digest realm="r", nonce="n1"'),))
    camera.step("OPTIONS", 200, OK)
    for i in range(MAX_STALE_ANSWERS):
        request = camera.request()
        assert request.method == "DESCRIBE"
        camera.answer(401, (("WWW-Authenticate", f'Digest realm="r", nonce="fresh{i}", stale=TRUE'),))
    request = camera.request()
    assert _param(request.header("Authorization") or "", "nonce") == f"fresh{MAX_STALE_ANSWERS - 1}"
    with pytest.raises(RtspClientError) as e:
        camera.answer(401, (("WWW-Authenticate", 'Digest realm="r", nonce="again", stale=true'),))
    assert e.value.reason is DownReason.AUTH


def test_a_new_nonce_for_a_later_request_is_answered_once() -> None:
    client = tcp_client(audio=False, user="u", password="p")
    camera = Camera(client)
    camera.step("OPTIONS", 401, (("WWW-Authenticate", 'Digest realm="r", nonce="n1"'),))
    camera.step("OPTIONS", 200, OK)
    camera.step("DESCRIBE", 200, (), SDP)
    camera.step("SETUP", 200, (("Session", "s;timeout=20"),))
    camera.step("PLAY", 200)
    client.timer(10.0)
    camera.step("GET_PARAMETER", 401, (("WWW-Authenticate", 'Digest realm="r", nonce="n2"'),))
    again = camera.request()
    assert again.method == "GET_PARAMETER" and _param(again.header("Authorization") or "", "nonce") == "n2"
    with pytest.raises(RtspClientError, match="refused the credentials") as e:
        camera.answer(401, (("WWW-Authenticate", 'Digest realm="r", nonce="n3"'),))
    assert e.value.reason is DownReason.AUTH


@pytest.mark.parametrize(
    ("user", "challenges", "match"),
    [
        (None, (("WWW-Authenticate", 'Digest realm="r", nonce="n"'),), "no username"),
        ("u", (("WWW-Authenticate", 'Negotiate realm="r"'),), "cannot be answered"),
        ("u", (("WWW-Authenticate", 'Digest realm="r", nonce="n", qop="auth-int"'),), "cannot be answered"),
        ("u", (("WWW-Authenticate", 'Digest realm="r, nonce="n'),), "cannot be answered"),
        ("u", (), "cannot be answered"),
    ],
)
def test_a_challenge_we_cannot_answer_is_auth(user: str | None, challenges: tuple[tuple[str, str], ...],
                                               match: str) -> None:
    client = tcp_client(user=user, password="p")
    camera = Camera(client)
    camera.request()
    with pytest.raises(RtspClientError, match=match) as e:
        camera.answer(401, challenges)
    assert e.value.reason is DownReason.AUTH


def test_refused_credentials_are_auth_and_the_error_sticks() -> None:
    client = tcp_client(user="u", password="wrong")
    camera = Camera(client)
    camera.step("OPTIONS", 401, (("WWW-Authenticate", 'Digest realm="r", nonce="n"'),))
    camera.request()
    with pytest.raises(RtspClientError, match="refused the credentials") as e:
        camera.answer(401, (("WWW-Authenticate", 'Digest realm="r", nonce="n2"'),))
    assert e.value.reason is DownReason.AUTH
    for call in (lambda: client.receive_data(b"", 1.0), lambda: client.timer(1.0)):
        with pytest.raises(RtspClientError) as again:
            call()
        assert again.value is e.value


# -- redirects and errors --


def test_a_redirect_is_an_event_and_the_end_of_the_session() -> None:
    client = tcp_client()
    camera = Camera(client)
    camera.step("OPTIONS")
    events = camera.step("DESCRIBE", 302, (("Location", "rtsp://10.0.0.9:8554/live"),))
    assert events == [Redirected("rtsp://10.0.0.9:8554/live")]
    assert client.data_to_send() == b"" and client.next_timer_s() is None
    assert client.receive_data(encode_response(200, "OK", "3"), 0.0) == []
    client = tcp_client()
    assert Camera(client).step("OPTIONS", 301, (("Location", "/other/stream"),)) == [
        Redirected("rtsp://cam.local:554/other/stream")]
    client = tcp_client()
    with pytest.raises(RtspClientError, match="without a Location") as e:
        Camera(client).step("OPTIONS", 301)
    assert e.value.reason is DownReason.ERROR


@pytest.mark.parametrize(
    ("method", "status", "reason"),
    [
        ("DESCRIBE", 404, DownReason.NOT_FOUND),
        ("DESCRIBE", 500, DownReason.ERROR),
        ("DESCRIBE", 403, DownReason.ERROR),
        ("SETUP", 461, DownReason.BAD_STREAM),
        ("SETUP", 404, DownReason.NOT_FOUND),
        ("SETUP", 454, DownReason.ERROR),
        ("PLAY", 454, DownReason.ERROR),
        ("PLAY", 500, DownReason.ERROR),
        ("PLAY", 461, DownReason.BAD_STREAM),
    ],
)
def test_error_statuses(method: str, status: int, reason: DownReason) -> None:
    client = tcp_client(audio=False)
    camera = Camera(client)
    camera.step("OPTIONS", 200, OK)
    if method != "DESCRIBE":
        camera.step("DESCRIBE", 200, (), SDP)
    if method == "PLAY":
        camera.step("SETUP", 200, (("Session", "s"),))
    with pytest.raises(RtspClientError, match=str(status)) as e:
        camera.step(method, status)
    assert e.value.reason is reason


@pytest.mark.parametrize(
    ("body", "headers", "match"),
    [
        (b"<html>not sdp</html>", (), "not an SDP"),
        (b"\xff\xfe", (), "not UTF-8"),
        (b"v=0\nm=video 0 RTP/AVP 26\n", (), "no H.264/H.265 video"),
        (SDP.replace(b"trackID=1", b"track 1"), (), "cannot send SETUP"),
    ],
)
def test_an_unusable_describe_is_a_bad_stream(body: bytes, headers: tuple[tuple[str, str], ...], match: str) -> None:
    client = tcp_client()
    camera = Camera(client)
    camera.step("OPTIONS")
    with pytest.raises(RtspClientError, match=match) as e:
        camera.step("DESCRIBE", 200, headers, body)
    assert e.value.reason is DownReason.BAD_STREAM


@pytest.mark.parametrize(
    "garbage",
    [b"HTTP/1.1 200 OK\r\n\r\n", b"RTSP/1.0 2OO OK\r\n\r\n", b"RTSP/1.0 200 OK\r\nno colon\r\n\r\n",
     b"x" * (MAX_HEAD_BYTES + 10), b"RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n"],
)
def test_protocol_garbage_is_a_bad_stream(garbage: bytes) -> None:
    client = tcp_client()
    client.data_to_send()
    assert failure(client, garbage).reason is DownReason.BAD_STREAM


def test_setup_without_a_session_or_with_a_bad_one_is_a_bad_stream() -> None:
    for headers in [(), (("Session", ";timeout=5"),)]:
        client = tcp_client()
        camera = Camera(client)
        camera.to_setup()
        with pytest.raises(RtspClientError) as e:
            camera.step("SETUP", 200, headers)
        assert e.value.reason is DownReason.BAD_STREAM


# -- fuzzing --

_chunk = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([
        encode_response(200, "OK", "1", OK), encode_response(200, "OK", "2", (("Content-Base", URL),), SDP),
        encode_response(200, "OK", "3", (("Session", "s;timeout=2"),)), encode_response(200, "OK", "4"),
        encode_response(401, "Unauthorized", "1", (("WWW-Authenticate", 'Digest realm="r", nonce="n"'),)),
        encode_response(302, "Moved", "2", (("Location", "rtsp://x/"),)), encode_interleaved(0, b"\x80" * 20),
        b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 40\r\n\r\n", b"$\x00\xff\xff", b"\r\n\r\n",
    ]),
)


@settings(max_examples=400)
@given(st.lists(_chunk, max_size=12), st.booleans())
def test_anything_from_the_camera_gives_events_or_the_clients_error(chunks: list[bytes], udp: bool) -> None:
    transport = Transport.UDP if udp else Transport.TCP
    client = RtspClient(URL, "u", "p", transport, True, 0.0, ((5000, 5001), (5002, 5003)), cnonce="c")
    now = 0.0
    try:
        for chunk in chunks:
            now += 1.0
            client.data_to_send()
            client.receive_data(chunk, now)
            client.timer(now)
            assert client._reader.buffered <= MAX_HEAD_BYTES + MAX_BODY_BYTES + 4 + 0xFFFF
    except RtspClientError as e:
        assert isinstance(e.reason, DownReason)
