"""An RTSP 1.0 client session as cameras speak it (RFC 2326), sans-IO in the style of h11: the shell
writes `data_to_send()`, feeds what it reads to `receive_data`, calls `timer` when `next_timer_s`
is due, and acts on the events. No sockets, no clocks: time is an argument.

Rules:
- The conversation: OPTIONS (its `Public` says whether GET_PARAMETER is there for keep-alives) →
  DESCRIBE (`Accept: application/sdp`; the base for controls is Content-Base, else an absolute
  Content-Location, else the request URL; tracks chosen by core/sdp.pick_tracks) → SETUP video
  (and audio when picked) with `RTP/AVP/TCP;unicast;interleaved=0-1` (2-3 for audio) or
  `RTP/AVP;unicast;client_port=a-b` (the shell's ports, video then audio) → PLAY (`Range:
  npt=0.000-`) on the aggregate URL → `Playing`. At most one request is in flight (TEARDOWN
  excepted). The `Session` header of the first SETUP is sent with every later request; its
  timeout (default 60 s) sets the keep-alive: GET_PARAMETER when OPTIONS listed it, else
  OPTIONS, every timeout/2, queued by `timer`.
- What the server says in a SETUP answer wins: another interleaved pair, server ports, an ssrc
  (hex). A TCP SETUP answered with a UDP transport (or the reverse, or multicast) is unusable.
- Interleaved frames (`$`) become `Interleaved` events whenever they come, also before PLAY's
  answer. A request from the server is answered 501.
- 401: answered once with the strongest challenge (core/http_digest.py: Digest SHA-256, Digest
  MD5, Basic), then every request carries Authorization; a 401 to a request that already carried
  the answer is refused credentials, unless it says `stale=true` (answered again, at most
  MAX_STALE_ANSWERS times a request). A later request (a keep-alive, say) refused with a new nonce
  is answered once more: cameras rotate nonces without saying stale.
- 3xx with Location: a `Redirected` event (a Location without a scheme is taken on the request
  URL's host) and the session is over (the shell reconnects).
- Failures raise `RtspClientError` with a DownReason, and every later call raises it again: 401
  after answering (or with no username, or a challenge we cannot answer) → AUTH; 404 → NOT_FOUND;
  an unreadable or unusable SDP, an unusable transport (461 too) or protocol garbage (the
  framing's RtspProtocolError) → BAD_STREAM; any other 4xx/5xx → ERROR. An audio SETUP that fails
  or answers an unusable transport only drops the audio. A keep-alive GET_PARAMETER answered
  405/501 switches the keep-alive to OPTIONS; 454 to a keep-alive is ERROR (the session is gone).
- After `close()` (TEARDOWN queued when a session exists) nothing more is read.
- Bounds: all input goes through core/rtsp_messages.RtspReader (bounded); output waits in a
  buffer the shell drains."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass

from vigil.core.camera_modes import Transport
from vigil.core.http_digest import (
    AuthHeaderError,
    SignIn,
    UnsupportedAuthError,
    any_stale,
    parse_challenges,
    pick_challenge,
)
from vigil.core.media import DownReason
from vigil.core.rtsp_messages import (
    Headers,
    InterleavedFrame,
    RtspProtocolError,
    RtspReader,
    RtspRequest,
    RtspResponse,
    encode_request,
    encode_response,
    parse_session,
    parse_transport,
)
from vigil.core.sdp import AudioTrack, SdpError, VideoTrack, parse_sdp, pick_tracks, resolve_control

USER_AGENT = "Vigil"
MAX_STALE_ANSWERS = 3
_INTERLEAVED = ((0, 1), (2, 3))  # video, audio


class RtspClientError(Exception):
    """The session cannot go on; `reason` is what the camera's gap is recorded as."""

    def __init__(self, reason: DownReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SetupTrack:
    track: VideoTrack | AudioTrack
    rtp_channel: int | None  # interleaved channels over TCP
    rtcp_channel: int | None
    server_ports: tuple[int, int] | None  # over UDP, when the server said
    ssrc: int | None


@dataclass(frozen=True)
class Playing:
    video: SetupTrack
    audio: SetupTrack | None
    session_timeout_s: int


# An RTP or RTCP packet over the RTSP connection (`channel`, `data`): the framing's own frozen
# dataclass, handed on as it is (one object per packet, not two: the hot path).
Interleaved = InterleavedFrame


@dataclass(frozen=True)
class Redirected:
    url: str


ClientEvent = Playing | Interleaved | Redirected


class _Step(enum.Enum):
    OPTIONS = "OPTIONS"
    DESCRIBE = "DESCRIBE"
    SETUP_VIDEO = "SETUP"
    SETUP_AUDIO = "SETUP "
    PLAY = "PLAY"
    KEEPALIVE = "keep-alive"
    TEARDOWN = "TEARDOWN"


@dataclass
class _Request:
    step: _Step
    method: str
    uri: str
    extra: Headers
    cseq: int = 0
    auth_answers: int = 0


def _absolute(url: str, location: str | None) -> str | None:
    """A Location header as an absolute URL (`/path` on the request URL's scheme and host)."""
    if not location or "://" in location:
        return location or None
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/{location.lstrip('/')}"


class RtspClient:
    """One RTSP session with a camera, from OPTIONS to TEARDOWN (see the module rules)."""

    def __init__(
        self,
        url: str,
        username: str | None,
        password: str | None,
        transport: Transport,
        want_audio: bool,
        now_s: float,
        udp_ports: tuple[tuple[int, int], ...] = (),
        *,
        cnonce: str | None = None,
    ) -> None:
        if transport is Transport.UDP and not udp_ports:
            raise ValueError("RTP over UDP needs the client's RTP/RTCP port pair for each track")
        self.url = url
        self._transport = transport
        self._want_audio = want_audio and (transport is Transport.TCP or len(udp_ports) >= 2)
        self._udp_ports = udp_ports
        self._sign_in = SignIn(username, password, cnonce if cnonce is not None else secrets.token_hex(8))
        self._reader = RtspReader()
        self._out = bytearray()
        self._cseq = 0
        self._in_flight: _Request | None = None
        self._session: str | None = None
        self._timeout_s = 60
        self._keepalive_method = "OPTIONS"
        self._next_keepalive_s: float | None = None
        self._aggregate_url = url
        self._video: VideoTrack | None = None
        self._audio: AudioTrack | None = None
        self._video_setup: SetupTrack | None = None
        self._audio_setup: SetupTrack | None = None
        self._failed: RtspClientError | None = None
        self._done = False  # closed, redirected or failed: nothing more is read
        self._now_s = now_s
        self._send(_Request(_Step.OPTIONS, "OPTIONS", url, ()))

    # -- the shell's calls --

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def receive_data(self, data: bytes, now_s: float) -> list[ClientEvent]:
        if self._failed is not None:
            raise self._failed
        events: list[ClientEvent] = []
        if self._done:
            return events
        self._now_s = now_s
        try:
            self._reader.feed(data)
            while not self._done and (event := self._reader.next_event()) is not None:
                if isinstance(event, InterleavedFrame):
                    events.append(event)
                elif isinstance(event, RtspRequest):
                    self._out += encode_response(501, "Not Implemented", event.header("CSeq"))
                else:
                    self._on_response(event, events)
        except RtspProtocolError as e:
            raise self._fail(DownReason.BAD_STREAM, f"the camera sent something that is not RTSP ({e})") from e
        return events

    def timer(self, now_s: float) -> None:
        if self._failed is not None:
            raise self._failed
        self._now_s = now_s
        due = self._next_keepalive_s
        if self._done or due is None or now_s < due:
            return
        self._next_keepalive_s = now_s + self._timeout_s / 2
        if self._in_flight is None:
            self._send(_Request(_Step.KEEPALIVE, self._keepalive_method, self._aggregate_url, ()))

    def next_timer_s(self) -> float | None:
        return None if self._done else self._next_keepalive_s

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        if self._session is not None:
            self._send(_Request(_Step.TEARDOWN, "TEARDOWN", self._aggregate_url, ()))

    def send_interleaved(self, channel: int, data: bytes) -> None:
        """Queue an interleaved frame (an RTCP receiver report over TCP)."""
        if not self._done:
            self._out += b"$" + bytes((channel,)) + len(data).to_bytes(2, "big") + data

    # -- requests --

    def _send(self, request: _Request) -> None:
        self._cseq += 1
        request.cseq = self._cseq
        headers: list[tuple[str, str]] = [("User-Agent", USER_AGENT)]
        try:
            value = self._sign_in.value(request.method, request.uri)
            if value is not None:
                headers.append(("Authorization", value))
            if self._session is not None:
                headers.append(("Session", self._session))
            self._out += encode_request(request.method, request.uri, request.cseq, (*headers, *request.extra))
        except (AuthHeaderError, UnsupportedAuthError) as e:
            raise self._fail(DownReason.AUTH, f"the camera's sign-in cannot be answered: {e}") from e
        except ValueError as e:  # a URL from the camera that cannot go in a request line
            raise self._fail(DownReason.BAD_STREAM, f"cannot send {request.method}: {e}") from e
        if request.step is not _Step.TEARDOWN:
            self._in_flight = request

    def _fail(self, reason: DownReason, message: str) -> RtspClientError:
        self._failed = RtspClientError(reason, message)
        self._done = True
        return self._failed

    def _setup(self, step: _Step, uri: str, index: int) -> None:
        if self._transport is Transport.TCP:
            rtp, rtcp = _INTERLEAVED[index]
            value = f"RTP/AVP/TCP;unicast;interleaved={rtp}-{rtcp}"
        else:
            rtp, rtcp = self._udp_ports[index]
            value = f"RTP/AVP;unicast;client_port={rtp}-{rtcp}"
        self._send(_Request(step, "SETUP", uri, (("Transport", value),)))

    # -- answers --

    def _on_response(self, response: RtspResponse, events: list[ClientEvent]) -> None:
        request = self._in_flight
        cseq = response.header("CSeq")
        if request is None or (cseq is not None and cseq.strip() != str(request.cseq)):
            return  # an answer to nothing we wait for (a late one, a TEARDOWN's)
        self._in_flight = None
        status = response.status
        if status == 401:
            self._answer_challenge(request, response)
        elif 300 <= status < 400 and request.step is not _Step.KEEPALIVE:
            location = _absolute(self.url, response.header("Location"))
            if not location:
                raise self._fail(DownReason.ERROR, f"{request.method}: {status} {response.reason} without a Location")
            self._done = True
            events.append(Redirected(location))
        elif request.step is _Step.OPTIONS:
            if 200 <= status < 300:
                public = [m.strip().upper() for m in (response.header("Public") or "").split(",")]
                self._keepalive_method = "GET_PARAMETER" if "GET_PARAMETER" in public else "OPTIONS"
            self._send(_Request(_Step.DESCRIBE, "DESCRIBE", self.url, (("Accept", "application/sdp"),)))
        elif request.step is _Step.DESCRIBE:
            self._check(request, response)
            self._on_describe(response)
        elif request.step is _Step.SETUP_VIDEO:
            self._check(request, response)
            self._on_setup_video(response)
        elif request.step is _Step.SETUP_AUDIO:
            self._on_setup_audio(response)
        elif request.step is _Step.PLAY:
            self._check(request, response)
            assert self._video_setup is not None
            self._next_keepalive_s = self._now_s + self._timeout_s / 2
            events.append(Playing(self._video_setup, self._audio_setup, self._timeout_s))
        elif request.step is _Step.KEEPALIVE:
            if status == 454:
                raise self._fail(DownReason.ERROR, "the camera ended the session (454 Session Not Found)")
            if status in (405, 501) and request.method == "GET_PARAMETER":
                self._keepalive_method = "OPTIONS"

    def _check(self, request: _Request, response: RtspResponse) -> None:
        status = response.status
        if 200 <= status < 300:
            return
        what = f"{request.method} {request.uri}: {status} {response.reason}"[:300]
        if status == 404:
            raise self._fail(DownReason.NOT_FOUND, f"the camera has no such stream ({what})")
        if status == 461:
            raise self._fail(DownReason.BAD_STREAM, f"the camera refuses our transport ({what})")
        raise self._fail(DownReason.ERROR, f"the camera answered {what}")

    def _answer_challenge(self, request: _Request, response: RtspResponse) -> None:
        if self._sign_in.username is None:
            raise self._fail(DownReason.AUTH, "the camera asks for a sign-in and no username is configured")
        try:
            challenges = parse_challenges(response.headers_named("WWW-Authenticate"))
            challenge = pick_challenge(challenges)
        except (AuthHeaderError, UnsupportedAuthError) as e:
            raise self._fail(DownReason.AUTH, f"the camera's sign-in cannot be answered: {e}") from e
        stale = any_stale(challenges)
        adopted = self._sign_in.challenge
        renewed = (adopted is not None and request.auth_answers == 0
                   and challenge.param("nonce") != adopted.param("nonce"))
        if adopted is not None and not renewed and not (stale and request.auth_answers < MAX_STALE_ANSWERS):
            raise self._fail(DownReason.AUTH, f"the camera refused the credentials ({request.method}: 401)")
        self._sign_in.adopt(challenge)
        request.auth_answers += 1
        self._send(request)

    def _on_describe(self, response: RtspResponse) -> None:
        base = response.header("Content-Base")
        if not base or "://" not in base:
            location = response.header("Content-Location")
            base = location if location and "://" in location else self.url
        try:
            sd = parse_sdp(response.body.decode("utf-8"))
            self._video, self._audio = pick_tracks(sd, base, self._want_audio)
        except UnicodeDecodeError as e:
            raise self._fail(DownReason.BAD_STREAM, "the camera's SDP is not UTF-8 text") from e
        except SdpError as e:
            raise self._fail(DownReason.BAD_STREAM, str(e)) from e
        self._aggregate_url = resolve_control(base, sd.control)
        self._setup(_Step.SETUP_VIDEO, self._video.control_url, 0)

    def _track_setup(self, response: RtspResponse, track: VideoTrack | AudioTrack, index: int) -> SetupTrack | str:
        """What the server's Transport answer says, or why it is unusable."""
        value = response.header("Transport")
        if value is None:  # what we asked for, then
            channels = _INTERLEAVED[index] if self._transport is Transport.TCP else (None, None)
            return SetupTrack(track, channels[0], channels[1], None, None)
        answer = parse_transport(value)
        if self._transport is Transport.TCP:
            # interleaved channels mean TCP, whatever the protocol says
            if answer.interleaved is None or answer.multicast:
                return f"the camera answered a TCP SETUP with {value[:100]!r}"
            return SetupTrack(track, answer.interleaved[0], answer.interleaved[1], None, answer.ssrc)
        if "TCP" in answer.protocol or answer.interleaved is not None or answer.multicast:
            return f"the camera answered a UDP SETUP with {value[:100]!r}"
        return SetupTrack(track, None, None, answer.server_ports, answer.ssrc)

    def _on_setup_video(self, response: RtspResponse) -> None:
        assert self._video is not None
        session = response.header("Session")
        if session is None:
            raise self._fail(DownReason.BAD_STREAM, "the camera's SETUP answer has no Session header")
        self._session, self._timeout_s = parse_session(session)
        setup = self._track_setup(response, self._video, 0)
        if isinstance(setup, str):
            raise self._fail(DownReason.BAD_STREAM, setup)
        self._video_setup = setup
        if self._audio is not None:
            self._setup(_Step.SETUP_AUDIO, self._audio.control_url, 1)
        else:
            self._play()

    def _on_setup_audio(self, response: RtspResponse) -> None:
        assert self._audio is not None and self._video_setup is not None
        setup = self._track_setup(response, self._audio, 1) if 200 <= response.status < 300 else "refused"
        video = self._video_setup
        clash = isinstance(setup, SetupTrack) and setup.rtp_channel is not None and setup.rtp_channel in (
            video.rtp_channel, video.rtcp_channel)
        if isinstance(setup, str) or clash:
            self._audio = None  # the video goes on without it
        else:
            self._audio_setup = setup
        self._play()

    def _play(self) -> None:
        self._send(_Request(_Step.PLAY, "PLAY", self._aggregate_url, (("Range", "npt=0.000-"),)))
