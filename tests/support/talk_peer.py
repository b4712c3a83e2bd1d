"""A browser's side of push-to-talk, as an aiortc peer: a microphone that plays a tone, offered as a
sendonly G.711 track to POST /api/cameras/{id}/talk (what lib/talk.ts does in a page)."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Sequence

import numpy as np
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack
from av import AudioFrame

RATE = 8000
FRAME_SAMPLES = 160  # 20 ms


class ToneMicrophone(AudioStreamTrack):
    """`tone_s` of a sine at `freq_hz` once the peer starts sending, then silence; paced in real time."""

    def __init__(self, freq_hz: float, tone_s: float) -> None:
        super().__init__()
        self.freq_hz, self.tone_samples = freq_hz, int(tone_s * RATE)
        self._sent = 0
        self._first_s = 0.0

    async def recv(self) -> AudioFrame:
        if self._sent == 0:
            self._first_s = time.monotonic()
        due = self._first_s + self._sent / RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        n = np.arange(self._sent, self._sent + FRAME_SAMPLES)
        wave = np.where(n < self.tone_samples, 0.5 * 32767 * np.sin(2 * np.pi * self.freq_hz * n / RATE), 0.0)
        frame = AudioFrame.from_ndarray(wave.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, self._sent, fractions.Fraction(1, RATE)
        self._sent += FRAME_SAMPLES
        return frame


async def talk_offer(microphone: AudioStreamTrack, codecs: Sequence[str] = ("audio/PCMU", "audio/PCMA"),
                     ) -> tuple[RTCPeerConnection, str]:
    """A peer sending `microphone` with only `codecs` offered, and its offer SDP (candidates gathered)."""
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver(microphone, direction="sendonly")
    capabilities = RTCRtpSender.getCapabilities("audio")
    assert capabilities is not None
    transceiver.setCodecPreferences(sorted((c for c in capabilities.codecs if c.mimeType in codecs),
                                           key=lambda c: list(codecs).index(c.mimeType)))
    await pc.setLocalDescription(await pc.createOffer())
    assert pc.localDescription is not None
    return pc, pc.localDescription.sdp


async def answer(pc: RTCPeerConnection, sdp: str) -> None:
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
