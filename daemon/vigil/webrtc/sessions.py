"""WHEP sessions (RFC 9725): an SDP offer in, an answer out, one RTCPeerConnection each.

The codec is fixed to H.264 *before* the offer is applied (set afterwards, VP8 would be
negotiated and the browser would drop every H.264 frame). Answers are sent with all candidates
gathered (no trickle). A session ends on DELETE, when ICE/DTLS fail or close, or when it never
connects within `CONNECT_TIMEOUT_S`."""

from __future__ import annotations

import asyncio
import datetime
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from vigil.core.errors import BadRequestError, ConflictError, NotFoundError, TooManyRequestsError
from vigil.core.turn import IceServer
from vigil.ingest.fanout import Fanout
from vigil.webrtc.track import CameraTrack

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 30.0
# Browsers send RTCP receiver reports every second or so; silence this long means the viewer
# is gone (a closed tab, a phone out of coverage) even if ICE consent has not expired yet.
SILENCE_TIMEOUT_S = 10.0
WATCH_INTERVAL_S = 2.0
MAX_SDP_BYTES = 64_000


@dataclass
class WhepSession:
    id: str
    camera_id: str
    quality: str
    actor: str
    pc: RTCPeerConnection
    track: CameraTrack
    sender: RTCRtpSender
    created_monotonic: float = field(default_factory=time.monotonic)
    closed: asyncio.Event = field(default_factory=asyncio.Event)


def _check_offer(sdp: str) -> None:
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise BadRequestError("SDP offer too large")
    if not sdp.startswith("v=0"):
        raise BadRequestError("malformed SDP offer: it must start with v=0")
    if "m=video" not in sdp:
        raise BadRequestError("malformed SDP offer: it has no video section")
    if "H264/90000" not in sdp:
        raise BadRequestError("the SDP offer does not accept H.264, which this appliance forwards as-is")


class WhepSessions:
    def __init__(self, ice_servers: Callable[[str], tuple[IceServer, ...]], max_viewers: int) -> None:
        self._ice_servers = ice_servers
        self.max_viewers = max_viewers
        self.sessions: dict[str, WhepSession] = {}

    async def create(self, camera_id: str, quality: str, fanout: Fanout, offer_sdp: str, actor: str) -> WhepSession:
        _check_offer(offer_sdp)
        if len(self.sessions) >= self.max_viewers:
            raise TooManyRequestsError(f"this appliance serves at most {self.max_viewers} live viewers at once")
        session_id = secrets.token_urlsafe(16)
        servers = [RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
                   for s in self._ice_servers(session_id)]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        track = CameraTrack(fanout, f"{camera_id}/{quality}/whep-{session_id[:8]}")
        transceiver = pc.addTransceiver(track, direction="sendonly")
        session = WhepSession(session_id, camera_id, quality, actor, pc, track, transceiver.sender)
        try:
            codecs = RTCRtpSender.getCapabilities("video").codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType in ("video/H264", "video/rtx")])
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except (ValueError, KeyError, IndexError) as error:
                raise BadRequestError(f"malformed SDP offer: {error}") from None
            answer = await pc.createAnswer()
            if answer is None or "H264" not in answer.sdp:
                raise ConflictError("could not agree on H.264 with this browser")
            await pc.setLocalDescription(answer)
        except BaseException:
            track.stop()
            await pc.close()
            raise
        self.sessions[session_id] = session

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            log.info("whep %s (%s/%s): %s", session_id[:8], camera_id, quality, pc.connectionState)
            if pc.connectionState in ("failed", "closed"):
                await self.close(session_id)

        asyncio.get_running_loop().call_later(CONNECT_TIMEOUT_S, self._expire_unconnected, session_id)
        return session

    async def watch(self) -> None:
        """Close sessions whose viewer went silent (runs for the daemon's lifetime)."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            now = time.monotonic()
            for session in list(self.sessions.values()):
                if await self._silent_for_s(session, now) > SILENCE_TIMEOUT_S:
                    log.info("whep %s: no receiver reports for %.0f s; closing", session.id[:8], SILENCE_TIMEOUT_S)
                    await self.close(session.id)

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
            asyncio.get_running_loop().create_task(self.close(session_id))

    def answer_sdp(self, session: WhepSession) -> str:
        description = session.pc.localDescription
        assert description is not None
        return description.sdp

    def get(self, session_id: str) -> WhepSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise NotFoundError("no such live session (it ended)")
        return session

    async def close(self, session_id: str) -> None:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        session.track.stop()
        await session.pc.close()
        session.closed.set()

    async def close_all(self) -> None:
        for session_id in list(self.sessions):
            await self.close(session_id)
