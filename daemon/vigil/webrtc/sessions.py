"""WHEP sessions (RFC 9725): an SDP offer in, an answer out, one RTCPeerConnection each.

The codec is fixed to H.264 *before* the offer is applied (set afterwards, VP8 would be
negotiated and the browser would drop every H.264 frame). When the offer has an audio section and
the camera sends audio, a sendonly audio track follows core/listen.py's plan, its codec also fixed
before the offer is applied; otherwise the offer's audio section is answered inactive. Answers
are sent with all candidates gathered (no trickle). Offers are screened first
(core/whep_offer.py). A session takes its slot before the first await
(core/live_grants.admit_viewer) and gives it back if setup fails.

A session ends on DELETE, when ICE/DTLS fail or close, when it never connects within
`CONNECT_TIMEOUT_S`, when its viewer goes silent, and when the credential that opened it no
longer grants it: each session is bound to it in the daemon's CredentialWatch
(credential_watch.py), which ends it within about a second of a revocation, expiry or disable.
Every end but DELETE and shutdown is audited here as `live.end` by `system`, with the reason."""

from __future__ import annotations

import asyncio
import datetime
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aioice.ice import get_host_addresses
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from vigil.core.camera_modes import Stream
from vigil.core.errors import BadRequestError, ConflictError, NotFoundError, VigilError
from vigil.core.listen import AudioPlan, plan_audio
from vigil.core.live_grants import ViewerLimits, admit_viewer
from vigil.core.permissions import Action, Target
from vigil.core.turn import IceServer
from vigil.core.whep_offer import ScreenedOffer, screen_offer
from vigil.credential_watch import Binding, CredentialWatch
from vigil.ingest.fanout import Fanout
from vigil.webrtc.audio_track import AudioSource, CameraAudioTrack
from vigil.webrtc.track import CameraTrack

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 30.0
# Browsers send RTCP receiver reports every second or so; silence this long means the viewer
# is gone (a closed tab, a phone out of coverage) even if ICE consent has not expired yet.
SILENCE_TIMEOUT_S = 10.0
WATCH_INTERVAL_S = 2.0


class AuditSink(Protocol):
    def append(self, now_ns: int, actor: str, action: str, target: str, outcome: str,
               detail: dict[str, Any] | None = None) -> int: ...


@dataclass
class WhepSession:
    id: str
    camera_id: str
    quality: Stream
    actor: str
    credential: str  # SHA-256 of the token that opened it (a session, an API token or a link)
    target: Target  # the camera and its building, as view_live was granted for it
    pc: RTCPeerConnection
    track: CameraTrack
    sender: RTCRtpSender
    created_monotonic: float = field(default_factory=time.monotonic)
    binding: int = 0  # its key in the CredentialWatch
    remote: str | None = None  # the viewer's address, as the API saw it (an incident's activity shows it)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    audio: CameraAudioTrack | None = None  # the camera's sound, when the offer asked and it has some

    @property
    def audio_plan(self) -> AudioPlan | None:
        return None if self.audio is None else self.audio.plan


def local_ice_addresses() -> list[str]:
    """The host addresses aioice gathers candidates on (as aiortc configures it)."""
    return get_host_addresses(use_ipv4=True, use_ipv6=True)


class WhepSessions:
    def __init__(self, ice_servers: Callable[[str], tuple[IceServer, ...]], limits: ViewerLimits,
                 credentials: CredentialWatch, audit: AuditSink, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._ice_servers = ice_servers
        self.limits = limits
        self._credentials = credentials
        self._audit = audit
        self._clock_ns = clock_ns
        self.sessions: dict[str, WhepSession] = {}
        self._pending: dict[str, str] = {}  # session id -> credential, for sessions being set up

    @staticmethod
    def screen(body: bytes) -> ScreenedOffer:
        """The offer as aiortc may see it, or BadRequestError (rules in core/whep_offer.py)."""
        return screen_offer(body, local_ice_addresses())

    def _reserve(self, credential: str, link: bool) -> str:
        """A new session id holding a slot, or TooManyRequestsError naming the limit. No await
        here: concurrent offers cannot all pass the check before any of them counts."""
        on_credential = sum(c == credential for c in self._pending.values()) + sum(
            s.credential == credential for s in self.sessions.values())
        admit_viewer(self.limits, len(self.sessions) + len(self._pending), on_credential, link)
        session_id = secrets.token_urlsafe(16)
        self._pending[session_id] = credential
        return session_id

    async def create(self, camera_id: str, quality: Stream, fanout: Fanout, offer: ScreenedOffer, actor: str,
                     credential: str, target: Target, *, link: bool, audio: AudioSource | None = None) -> WhepSession:
        session_id = self._reserve(credential, link)
        try:
            session = await self._connect(session_id, camera_id, quality, fanout, offer, actor, credential, target,
                                          audio)
            self.sessions[session_id] = session
        finally:
            del self._pending[session_id]

        async def revoked(reason: str) -> None:
            log.info("whep %s (%s): %s; closing", session_id[:8], actor, reason)
            await self.close(session_id, reason)

        session.binding = self._credentials.bind(Binding(credential, Action.VIEW_LIVE, target, revoked))
        pc = session.pc

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            log.info("whep %s (%s/%s): %s", session_id[:8], camera_id, quality, pc.connectionState)
            if pc.connectionState in ("failed", "closed"):
                await self.close(session_id, f"the connection {pc.connectionState}")

        asyncio.get_running_loop().call_later(CONNECT_TIMEOUT_S, self._expire_unconnected, session_id)
        return session

    async def _connect(self, session_id: str, camera_id: str, quality: Stream, fanout: Fanout, offer: ScreenedOffer,
                       actor: str, credential: str, target: Target, audio: AudioSource | None) -> WhepSession:
        servers = [RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
                   for s in self._ice_servers(session_id)]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        track = CameraTrack(fanout, f"{camera_id}/{quality}/whep-{session_id[:8]}")
        transceiver = pc.addTransceiver(track, direction="sendonly")
        audio_track: CameraAudioTrack | None = None
        try:
            codecs = RTCRtpSender.getCapabilities("video").codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType in ("video/H264", "video/rtx")])
            plan = None if audio is None else plan_audio(audio.info.codec, offer.audio_codecs)
            if audio is not None and plan is not None:
                audio_track = CameraAudioTrack(audio.fanout, f"{camera_id}/audio/whep-{session_id[:8]}", plan)
                sound = pc.addTransceiver(audio_track, direction="sendonly")
                sound.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("audio").codecs
                                           if c.mimeType.lower() == plan.mime.lower()])
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
            except (ValueError, KeyError, IndexError, AssertionError, TypeError) as error:  # aiortc's parser
                raise BadRequestError(f"malformed SDP offer: {error or type(error).__name__}") from None
            answer = await pc.createAnswer()
            if answer is None or "H264" not in answer.sdp:
                raise ConflictError("could not agree on H.264 with this browser")
            await pc.setLocalDescription(answer)
        except BaseException:
            track.stop()
            if audio_track is not None:
                audio_track.stop()
            await pc.close()
            raise
        return WhepSession(session_id, camera_id, quality, actor, credential, target, pc, track, transceiver.sender,
                           audio=audio_track)

    async def watch(self) -> None:
        """Close sessions whose viewer went silent (runs for the daemon's lifetime)."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            now = time.monotonic()
            for session in list(self.sessions.values()):
                if await self._silent_for_s(session, now) > SILENCE_TIMEOUT_S:
                    log.info("whep %s: no receiver reports for %.0f s; closing", session.id[:8], SILENCE_TIMEOUT_S)
                    await self.close(session.id, f"no receiver reports for {SILENCE_TIMEOUT_S:.0f} s")

    @staticmethod
    async def _silent_for_s(session: WhepSession, now: float) -> float:
        reports = [r for r in (await session.sender.getStats()).values() if r.type == "remote-inbound-rtp"]
        if not reports:  # none yet: only the connect timeout applies
            return SILENCE_TIMEOUT_S + 1 if now - session.created_monotonic > CONNECT_TIMEOUT_S else 0.0
        last: datetime.datetime = max(r.timestamp for r in reports)
        return float((datetime.datetime.now(datetime.UTC) - last).total_seconds())

    def _expire_unconnected(self, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is not None and session.pc.connectionState != "connected":
            log.info("whep %s never connected; closing", session_id[:8])
            asyncio.get_running_loop().create_task(
                self.close(session_id, f"it did not connect within {CONNECT_TIMEOUT_S:.0f} s"))

    def answer_sdp(self, session: WhepSession) -> str:
        description = session.pc.localDescription
        assert description is not None
        return description.sdp

    def get(self, session_id: str) -> WhepSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise NotFoundError("no such live session (it ended)")
        return session

    async def close(self, session_id: str, reason: str | None = None) -> None:
        """End a session. With a reason (every end but DELETE, which its handler audits, and
        shutdown) the end is audited as `live.end` by `system`."""
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        self._credentials.unbind(session.binding)
        session.track.stop()
        if session.audio is not None:
            session.audio.stop()
        await session.pc.close()
        session.closed.set()
        if reason is None:
            return
        detail = {"session": session_id[:8], "viewer": session.actor, "reason": reason}
        try:
            await asyncio.to_thread(self._audit.append, self._clock_ns(), "system", "live.end",
                                    f"camera:{session.camera_id}", "ok", detail)
        except (sqlite3.Error, VigilError) as error:
            log.warning("whep %s ended (%s) but the audit entry could not be written: %s", session_id[:8], reason,
                        error)

    async def close_camera(self, camera_id: str, reason: str) -> None:
        """End every session of one camera (a reload removed it or restarted its pipeline)."""
        for session in [s for s in self.sessions.values() if s.camera_id == camera_id]:
            await self.close(session.id, reason)

    async def close_all(self) -> None:
        for session_id in list(self.sessions):
            await self.close(session_id)
