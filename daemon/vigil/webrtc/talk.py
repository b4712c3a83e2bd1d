"""Push-to-talk sessions (design/intercom.md): a browser's microphone over WebRTC to a device's
loudspeaker.

One RTCPeerConnection per press, with one recvonly audio transceiver whose codecs are G.711,
the device's own law first (core/talk_session.browser_codecs). aiortc hands the received audio
as decoded s16 frames; they are re-encoded to the device's law (core/g711.py), cut into 20 ms
packets and sent to the device's TalkSink (intercom/device.py). Offers are screened as WHEP
offers are (core/whep_offer.py, with TALK_MEDIA).

Order matters: the device's floor (core/intercom.TalkFloors, one for the daemon) is taken before
the first await, so two presses at once cannot both open the device; it is given back if the
setup fails. A session ends on DELETE, when the browser's connection fails or closes, when the
credential that opened it no longer grants `talk` (credential_watch.py), when the device drops
the session, and on core/talk_session.why_talk_ends (connect timeout, silence, longest press).
Every end but DELETE (its handler audits it) and shutdown is audited here as `talk.end` by
`system`, with its duration and reason. Live video and recording are never touched: the talk
path is a connection of its own."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import av
import numpy as np
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from vigil.config import CameraConfig, Config
from vigil.core import g711
from vigil.core.errors import BadRequestError, TalkDeviceError, TalkError, VigilError
from vigil.core.intercom import TalkFloors
from vigil.core.media import AudioCodec
from vigil.core.permissions import Action, Target
from vigil.core.talk_session import MIME_TYPES, TalkTimes, answered_codec, browser_codecs, why_talk_ends
from vigil.core.timebase import NS_PER_SECOND
from vigil.core.turn import IceServer
from vigil.core.whep_offer import TALK_MEDIA, ScreenedOffer, screen_offer
from vigil.credential_watch import Binding, CredentialWatch
from vigil.intercom.device import TalkSink, open_talk
from vigil.webrtc.sessions import AuditSink, local_ice_addresses

log = logging.getLogger(__name__)

DEVICE_TIMEOUT_S = 5.0  # to open the device's audio path (RTSP DESCRIBE/SETUP/PLAY, or VAPIX's POST)
TICK_S = 0.5  # how often a session without audio checks whether it must end

OpenDevice = Callable[[CameraConfig, float], Awaitable[TalkSink]]


def _device_of(camera: CameraConfig) -> tuple[object, ...]:
    """What a talk session's device path depends on (a reload changing any of it ends the session)."""
    return (camera.talk, camera.talk_url, camera.url, camera.username, camera.password)


@dataclass
class TalkSession:
    id: str
    camera_id: str
    path: str  # onvif or vapix
    actor: str
    credential: str  # SHA-256 of the token that opened it
    target: Target
    pc: RTCPeerConnection
    receiver: RTCRtpReceiver
    sink: TalkSink
    times: TalkTimes  # monotonic: when it was offered, connected, last heard audio
    binding: int = 0
    task: asyncio.Task[None] | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    browser_codec: AudioCodec | None = None  # what the browser sends, as the answer says
    device: tuple[object, ...] = field(default=(), repr=False)  # _device_of its camera (has the password)


def _monotonic_ns() -> int:
    return time.monotonic_ns()


class TalkSessions:
    def __init__(self, ice_servers: Callable[[str], tuple[IceServer, ...]], credentials: CredentialWatch,
                 audit: AuditSink, open_device: OpenDevice = open_talk,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._ice_servers = ice_servers
        self._credentials = credentials
        self._audit = audit
        self._open_device = open_device
        self._clock_ns = clock_ns
        self.floors = TalkFloors()
        self.sessions: dict[str, TalkSession] = {}
        self._ending: set[asyncio.Task[float | None]] = set()

    @staticmethod
    def screen(body: bytes) -> ScreenedOffer:
        """The offer as aiortc may see it, or BadRequestError (core/whep_offer.py, TALK_MEDIA)."""
        return screen_offer(body, local_ice_addresses(), TALK_MEDIA)

    async def create(self, camera: CameraConfig, offer: ScreenedOffer, actor: str, credential: str,
                     target: Target) -> TalkSession:
        """An open session, or TalkBusyError (someone holds the floor), TalkUnsupportedError,
        TalkDeviceError (the device), BadRequestError (an offer aiortc cannot use)."""
        session_id = secrets.token_urlsafe(16)
        taken = self.floors.take(camera.id, session_id, actor, self._clock_ns())  # no await before this
        if taken.displaced is not None:
            asyncio.get_running_loop().create_task(
                self.close(taken.displaced.session, "another talker took over a floor held too long"))
        offered_ns = _monotonic_ns()
        try:
            sink = await self._open_device(camera, DEVICE_TIMEOUT_S)
            try:
                pc, receiver = await self._answer(session_id, offer, sink.codec)
            except BaseException:
                await sink.aclose()
                raise
        except BaseException:
            self.floors.release(camera.id, session_id)
            raise
        session = TalkSession(session_id, camera.id, camera.talk.value, actor, credential, target, pc, receiver,
                              sink, TalkTimes(offered_ns))
        session.browser_codec = answered_codec(self.answer_sdp(session))
        session.device = _device_of(camera)
        self.sessions[session_id] = session

        async def revoked(reason: str) -> None:
            log.info("talk %s (%s): %s; closing", session_id[:8], actor, reason)
            await self.close(session_id, reason)

        session.binding = self._credentials.bind(Binding(credential, Action.TALK, target, revoked))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            log.info("talk %s (%s): %s", session_id[:8], camera.id, pc.connectionState)
            if pc.connectionState == "connected" and session.times.connected_ns is None:
                session.times = replace(session.times, connected_ns=_monotonic_ns())
            if pc.connectionState in ("failed", "closed"):
                await self.close(session_id, f"the browser's connection {pc.connectionState}")

        session.task = asyncio.get_running_loop().create_task(self._run(session), name=f"talk-{session_id[:8]}")
        return session

    async def _answer(self, session_id: str, offer: ScreenedOffer,
                      device: AudioCodec) -> tuple[RTCPeerConnection, RTCRtpReceiver]:
        servers = [RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
                   for s in self._ice_servers(session_id)]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        try:
            transceiver = pc.addTransceiver("audio", direction="recvonly")
            wanted = [MIME_TYPES[c] for c in browser_codecs(device)]
            capabilities = RTCRtpReceiver.getCapabilities("audio")
            codecs = capabilities.codecs if capabilities is not None else []
            transceiver.setCodecPreferences(sorted((c for c in codecs if c.mimeType in wanted),
                                                   key=lambda c: wanted.index(c.mimeType)))
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
            except (ValueError, KeyError, IndexError, AssertionError, TypeError) as error:  # aiortc's parser
                raise BadRequestError(f"malformed SDP offer: {error or type(error).__name__}") from None
            except Exception as error:  # aiortc's OperationError: no codec in common
                raise BadRequestError(f"the talk offer cannot be answered: {error}") from None
            if transceiver.receiver.track is None:
                raise BadRequestError("the talk offer's first audio section does not send audio")
            answer = await pc.createAnswer()
            if answer is None or answered_codec(answer.sdp) is None:
                raise BadRequestError("could not agree on G.711 (PCMU or PCMA) with this browser")
            await pc.setLocalDescription(answer)
        except BaseException:
            await pc.close()
            raise
        return pc, transceiver.receiver

    async def _run(self, session: TalkSession) -> None:
        """Relay the browser's audio to the device until the session must end; then end it."""
        reason = await self._relay(session)
        await self.close(session.id, reason)

    async def _relay(self, session: TalkSession) -> str:
        track: MediaStreamTrack | None = session.receiver.track
        assert track is not None
        chunker = g711.Chunker()
        resampler: av.AudioResampler | None = None
        while True:
            reason = why_talk_ends(session.times, _monotonic_ns(), session.sink.lost)
            if reason is not None:
                return reason
            try:
                async with asyncio.timeout(TICK_S):
                    frame = await track.recv()
            except TimeoutError:
                continue
            except MediaStreamError:
                return "the browser stopped sending audio"
            session.times = replace(session.times, last_audio_ns=_monotonic_ns())
            if not isinstance(frame, av.AudioFrame):
                continue
            frames = [frame]
            if frame.format.name != "s16" or frame.layout.name != "mono" or frame.sample_rate != g711.SAMPLE_RATE:
                if resampler is None:
                    resampler = av.AudioResampler(format="s16", layout="mono", rate=g711.SAMPLE_RATE)
                frames = resampler.resample(frame)
            for each in frames:
                samples = np.asarray(each.to_ndarray(), dtype=np.int16).reshape(-1)
                for chunk in chunker.push(g711.encode(samples, session.sink.codec)):
                    try:
                        await session.sink.send(chunk)
                    except TalkDeviceError as error:
                        return f"the device dropped the session: {error}"

    def answer_sdp(self, session: TalkSession) -> str:
        description = session.pc.localDescription
        assert description is not None
        return description.sdp

    def get(self, session_id: str) -> TalkSession | None:
        return self.sessions.get(session_id)

    async def close(self, session_id: str, reason: str | None = None) -> float | None:
        """End a session; its duration in seconds (None if it had ended). With a reason (every end
        but DELETE, which its handler audits, and shutdown) the end is audited as `talk.end` by
        `system`."""
        session = self.sessions.pop(session_id, None)
        if session is None:
            return None
        duration_s = round((_monotonic_ns() - session.times.offered_ns) / NS_PER_SECOND, 1)
        self._credentials.unbind(session.binding)
        if session.task is not None and session.task is not asyncio.current_task():
            session.task.cancel()
            await asyncio.wait([session.task])  # its cancellation, not ours: nothing swallowed
        self.floors.release(session.camera_id, session.id)
        try:
            await session.sink.aclose()
        except (TalkError, OSError) as error:  # a device already gone: its TEARDOWN is moot
            log.info("talk %s: closing the device's audio path: %s", session_id[:8], error)
        finally:
            await session.pc.close()
            session.closed.set()
        log.info("talk %s (%s, %s) ended after %.1f s: %s", session_id[:8], session.camera_id, session.actor,
                 duration_s, reason or "released")
        if reason is not None:
            detail = {"session": session_id[:8], "talker": session.actor, "duration_s": duration_s, "reason": reason}
            try:
                await asyncio.to_thread(self._audit.append, self._clock_ns(), "system", "talk.end",
                                        f"camera:{session.camera_id}", "ok", detail)
            except (sqlite3.Error, VigilError) as error:
                log.warning("talk %s ended (%s) but the audit entry could not be written: %s", session_id[:8],
                            reason, error)
        return duration_s

    def config_applied(self, config: Config) -> None:
        """LiveConfig.on_applied (a reload): sessions whose camera is gone, or whose talk path,
        address or credentials changed, end (audited by `system`)."""
        cameras = {c.id: c for c in config.cameras}
        for session in list(self.sessions.values()):
            camera = cameras.get(session.camera_id)
            if camera is None or _device_of(camera) != session.device:
                why = "its camera was removed" if camera is None else "its camera's talk settings changed"
                task = asyncio.get_running_loop().create_task(self.close(session.id, why))
                self._ending.add(task)
                task.add_done_callback(self._ending.discard)

    async def close_camera(self, camera_id: str, reason: str) -> None:
        for session in [s for s in self.sessions.values() if s.camera_id == camera_id]:
            await self.close(session.id, reason)

    async def close_all(self) -> None:
        for session_id in list(self.sessions):
            await self.close(session_id)
