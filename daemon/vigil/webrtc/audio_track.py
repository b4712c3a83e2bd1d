"""A WebRTC audio track carrying a camera's sound to one viewer (the plan is core/listen.py's).

Passthrough (G.711, Opus): each camera audio frame goes out as an `av.Packet`, which aiortc's
G.711 and Opus encoders pack into RTP without encoding (`Encoder.pack`). Transcode (AAC, or a
G.711 law the viewer lacks): the frames are decoded here and handed to aiortc as 16-bit
`AudioFrame`s, which its Opus encoder encodes on the executor. One decoder per viewer: decoding
AAC costs little (see bench/listen.py) and a per-viewer track needs no shared lifecycle.

Like the video track (a `FanoutTrack` too) it reads the camera's audio fan-out through its own
bounded subscription, so a slow viewer loses its own audio frames and never slows the camera.
Timestamps follow the camera's (`pts_90k`, from the first frame this viewer got), so a gap after a drop stays a gap."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError

from vigil.core.listen import AudioPlan, AudioRoute
from vigil.core.media import AudioInfo, AudioPacket, AudioStarted, PacketsDropped, SessionEnded
from vigil.ingest.fanout import Fanout
from vigil.webrtc.track import FanoutTrack

log = logging.getLogger(__name__)

TIME_BASE_90K = Fraction(1, 90_000)
OPUS_RATE = 48_000
LISTENER_QUEUE_PACKETS = 100  # 2 s of 20 ms frames; beyond that this viewer loses frames


@dataclass(frozen=True)
class AudioSource:
    """A camera's audio as a live session gets it: its fan-out and what its latest session sent."""

    fanout: Fanout
    info: AudioInfo


class CameraAudioTrack(FanoutTrack):
    kind = "audio"

    def __init__(self, fanout: Fanout, name: str, plan: AudioPlan) -> None:
        super().__init__(fanout, name, LISTENER_QUEUE_PACKETS)
        self.plan = plan
        self._info: AudioInfo | None = None
        self._decoder: Any = None  # av.AudioCodecContext while transcoding
        self._resampler: av.AudioResampler | None = None
        self._frames: deque[av.AudioFrame] = deque()
        self._first_pts_90k: int | None = None
        self.packets_sent = 0
        self.frames_decoded = 0

    async def recv(self) -> av.Packet[Any] | av.AudioFrame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            if self._frames:
                return self._frames.popleft()
            item = await self._next_item()
            if isinstance(item, AudioStarted):
                self._start(item.info)
            elif isinstance(item, PacketsDropped):
                self.resyncs += 1
            elif isinstance(item, SessionEnded):
                self._info = None
            elif isinstance(item, AudioPacket) and self._info is not None:
                if self.plan.route is AudioRoute.PASSTHROUGH:
                    return self._packet(item)
                self._decode(item)

    def _start(self, info: AudioInfo) -> None:
        self._info, self._decoder = info, None
        if self.plan.route is AudioRoute.PASSTHROUGH:
            if info.codec is not self.plan.source:  # the camera changed codec since this viewer's offer
                log.info("audio %s: the camera now sends %s, not %s; silent until it reconnects",
                         self._sub.name, info.codec.name, self.plan.source.name)
                self._info = None
            return
        decoder = av.CodecContext.create(info.codec.value, "r")
        decoder.sample_rate = info.sample_rate
        decoder.layout = "mono" if info.channels == 1 else "stereo"
        if info.extradata:
            decoder.extradata = info.extradata
        self._decoder = decoder
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)

    def _relative_pts_90k(self, pts_90k: int) -> int:
        if self._first_pts_90k is None:
            self._first_pts_90k = pts_90k
        return pts_90k - self._first_pts_90k

    def _packet(self, item: AudioPacket) -> av.Packet[Any]:
        packet = av.Packet(item.data)
        packet.pts = self._relative_pts_90k(item.pts_90k)
        packet.time_base = TIME_BASE_90K
        self.packets_sent += 1
        return packet

    def _decode(self, item: AudioPacket) -> None:
        assert self._decoder is not None and self._resampler is not None
        pts = self._relative_pts_90k(item.pts_90k) * OPUS_RATE // 90_000
        try:
            decoded = self._decoder.decode(av.Packet(item.data))
        except av.FFmpegError as error:  # one bad frame from the camera: skip it
            log.debug("audio %s: undecodable frame skipped: %s", self._sub.name, error)
            return
        for frame in decoded:
            frame.pts = None  # the resampler's output is timed below
            for out in self._resampler.resample(frame):
                out.pts, out.time_base = pts, Fraction(1, OPUS_RATE)
                pts += out.samples
                self._frames.append(out)
                self.frames_decoded += 1
