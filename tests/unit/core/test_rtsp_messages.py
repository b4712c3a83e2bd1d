"""core/rtsp_messages.py: RTSP framing, whole and in any split, and its bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.rtsp_messages import (
    MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    InterleavedFrame,
    RtspEvent,
    RtspProtocolError,
    RtspReader,
    RtspRequest,
    RtspResponse,
    TransportAnswer,
    encode_interleaved,
    encode_request,
    encode_response,
    parse_interleaved,
    parse_session,
    parse_transport,
)

DESCRIBE_ANSWER = (
    b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\n"
    b"Content-Base: rtsp://cam/onvif/\r\nContent-Length: 10\r\n\r\nv=0\r\ns=x\r\n"
)


def _events(reader: RtspReader) -> list[RtspEvent]:
    found = []
    while (event := reader.next_event()) is not None:
        found.append(event)
    return found


def test_a_response_with_a_body_then_a_frame_then_a_response() -> None:
    reader = RtspReader()
    reader.feed(DESCRIBE_ANSWER + encode_interleaved(1, b"\x80\xc8rtcp") + b"RTSP/1.0 551 Option not supported\n\n")
    first, frame, last = _events(reader)
    assert isinstance(first, RtspResponse) and first.status == 200 and first.body == b"v=0\r\ns=x\r\n"
    assert first.header("content-base") == "rtsp://cam/onvif/" and first.header("CSEQ") == "2"
    assert frame == InterleavedFrame(1, b"\x80\xc8rtcp")
    assert isinstance(last, RtspResponse) and (last.status, last.reason) == (551, "Option not supported")
    assert reader.buffered == 0


def test_byte_by_byte_gives_the_same_events() -> None:
    data = DESCRIBE_ANSWER + encode_interleaved(0, bytes(200)) + DESCRIBE_ANSWER
    whole = RtspReader()
    whole.feed(data)
    split = RtspReader()
    found: list[RtspEvent] = []
    for i in range(len(data)):
        split.feed(data[i : i + 1])
        found += _events(split)
    assert found == _events(whole) and len(found) == 3


def test_requests_round_trip() -> None:
    reader = RtspReader()
    reader.feed(encode_request("SETUP", "rtsp://cam/a/track2", 4, (("Transport", "RTP/AVP/TCP;interleaved=0-1"),)))
    reader.feed(encode_response(200, "OK", "4", (("Session", "abc;timeout=30"),), b"x"))
    request, response = _events(reader)
    assert request == RtspRequest(
        "SETUP", "rtsp://cam/a/track2", (("CSeq", "4"), ("Transport", "RTP/AVP/TCP;interleaved=0-1"))
    )
    assert isinstance(response, RtspResponse) and response.body == b"x"


def test_repeated_headers_are_all_kept() -> None:
    reader = RtspReader()
    reader.feed(b'RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Digest realm="a"\r\n'
                b"WWW-Authenticate: Basic realm=\"a\"\r\n\r\n")
    (response,) = _events(reader)
    assert isinstance(response, RtspResponse)
    assert response.headers_named("www-authenticate") == ['Digest realm="a"', 'Basic realm="a"']


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"RTSP/1.0 2000 OK\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nno colon here\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: " + str(MAX_BODY_BYTES + 1).encode() + b"\r\n\r\n",
        b"RTSP/1.0 200 OK\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n",
        b"RTSP/1.0 200 OK\r\nX: " + b"y" * MAX_HEAD_BYTES + b"\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nX: " + b"y" * (MAX_HEAD_BYTES + 10),  # never ends
        b"GET / HTTP/1.1\r\n\r\n",
        b"RTSP/1.0 200 \xff\r\n\r\n",
        "RTSP/1.0 ²²² OK\r\n\r\n".encode(),  # digits to str.isdigit, not to int()
    ],
    ids=["http", "status", "header", "negative-length", "long-body", "many-headers", "long-head", "endless-head",
         "http-request", "not-utf8", "unicode-digits"],
)
def test_malformed_input_is_a_protocol_error_and_the_reader_stays_failed(data: bytes) -> None:
    reader = RtspReader()
    reader.feed(data)
    with pytest.raises(RtspProtocolError):
        _events(reader)
    with pytest.raises(RtspProtocolError):
        reader.feed(b"RTSP/1.0 200 OK\r\n\r\n")


def test_encoders_refuse_what_would_break_the_framing() -> None:
    with pytest.raises(ValueError):
        encode_request("DESCRIBE", "rtsp://cam/\r\nX: y", 1)
    with pytest.raises(ValueError):
        encode_request("GET", "rtsp://cam/", 1, (("X", "a\r\nInjected: 1"),))
    with pytest.raises(ValueError):
        encode_interleaved(0, bytes(70000))


def test_session_and_interleaved_headers() -> None:
    assert parse_session("12345678;timeout=30") == ("12345678", 30)
    assert parse_session("ABC") == ("ABC", 60)
    assert parse_session("ABC; timeout=0") == ("ABC", 1)
    with pytest.raises(RtspProtocolError):
        parse_session(";timeout=5")
    assert parse_interleaved("RTP/AVP/TCP;unicast;interleaved=2-3") == (2, 3)
    assert parse_interleaved("RTP/AVP/TCP;interleaved=4") == (4, 5)
    assert parse_interleaved("RTP/AVP;unicast;client_port=5000-5001") is None
    assert parse_interleaved("RTP/AVP/TCP;interleaved=x-y") is None


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_any_bytes_give_events_or_the_modules_own_error(chunks: list[bytes]) -> None:
    reader = RtspReader()
    try:
        for chunk in chunks:
            reader.feed(chunk)
            _events(reader)
            assert reader.buffered <= MAX_HEAD_BYTES + MAX_BODY_BYTES + 4 + 0xFFFF + 200
    except RtspProtocolError:
        pass


_token = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1, max_size=20)
_value = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\r\n"), max_size=40).map(
    str.strip
)


@settings(max_examples=200)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.integers(100, 999), st.lists(st.tuples(_token, _value), max_size=5), st.binary(max_size=300)),
            st.tuples(st.integers(0, 255), st.binary(max_size=2000)),
        ),
        max_size=6,
    ),
    st.integers(1, 64),
)
def test_valid_streams_round_trip_in_any_split(items: list[tuple], split: int) -> None:  # type: ignore[type-arg]
    data = b""
    for item in items:
        if len(item) == 3:
            data += encode_response(item[0], "Reason phrase", "1", tuple(item[1]), item[2])
        else:
            data += encode_interleaved(item[0], item[1])
    reader = RtspReader()
    found: list[RtspEvent] = []
    for i in range(0, len(data), split):
        reader.feed(data[i : i + split])
        found += _events(reader)
    assert len(found) == len(items)
    for event, item in zip(found, items, strict=True):
        if len(item) == 3:
            assert isinstance(event, RtspResponse) and event.status == item[0] and event.body == item[2]
            assert event.headers[1 : 1 + len(item[1])] == tuple(item[1])
        else:
            assert event == InterleavedFrame(item[0], item[1])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=1A2B3C4D;mode=\"PLAY\"",
         TransportAnswer("RTP/AVP/TCP", (0, 1), None, 0x1A2B3C4D, False)),
        ("RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=00000001",
         TransportAnswer("RTP/AVP", None, (6970, 6971), 1, False)),
        ("rtp/avp/udp;unicast;server_port=7000, RTP/AVP/TCP;interleaved=4-5",
         TransportAnswer("RTP/AVP/UDP", None, (7000, 7001), None, False)),
        ("RTP/AVP;multicast;destination=232.0.0.1;port=5000-5001;ttl=4",
         TransportAnswer("RTP/AVP", None, None, None, True)),
        ("RTP/AVP;server_port=99999-1;ssrc=123456789;interleaved=x",
         TransportAnswer("RTP/AVP", None, None, None, False)),
        ("RTP/AVP;server_port=²-3;ssrc=zz", TransportAnswer("RTP/AVP", None, None, None, False)),
    ],
)
def test_a_servers_transport_answer(value: str, expected: TransportAnswer) -> None:
    assert parse_transport(value) == expected


@given(st.text(max_size=200))
def test_any_transport_value_parses(value: str) -> None:
    answer = parse_transport(value)
    for pair in (answer.interleaved, answer.server_ports):
        assert pair is None or all(0 <= n <= 65535 for n in pair)
    assert answer.ssrc is None or 0 <= answer.ssrc < 2**32
