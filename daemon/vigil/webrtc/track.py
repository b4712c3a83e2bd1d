"""A WebRTC video track that forwards a camera's encoded H.264 access units as they are.

aiortc packetizes an `av.Packet` returned by `recv()` without encoding it. The track reads the
camera's fan-out through its own bounded subscription: it starts at a keyframe, and when this
viewer falls behind the fan-out drops its packets until the next keyframe, so a slow viewer
never slows the recorder or other viewers, and never sees a broken GOP. Keyframes get the
SPS/PPS in front when the camera sends them only in the SDP.

`FanoutTrack` is that reading of a fan-out, shared with the audio track (audio_track.py): the
fan-out wakes the track from the camera's ingest thread, `_next_item` awaits the next item and
ends the track (MediaStreamError) once it was stopped or the fan-out closed its subscription."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from fractions import Fraction
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from vigil.core.h26x import with_parameter_sets
from vigil.core.media import Codec, EncodedPacket, PacketsDropped, SessionEnded, SessionStarted, StreamItem
from vigil.ingest.fanout import Fanout

log = logging.getLogger(__name__)

TIME_BASE = Fraction(1, 90_000)
VIEWER_QUEUE_PACKETS = 90  # ~6 s at 15 fps; beyond that this viewer skips to the next keyframe


class FanoutTrack(MediaStreamTrack):
    """A track reading `fanout` through its own subscription of `max_packets` (made on the event
    loop that runs the track); subclasses turn its items into what `recv` returns."""

    def __init__(self, fanout: Fanout, name: str, max_packets: int) -> None:
        super().__init__()
        self._event_loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._fanout = fanout
        self._sub = fanout.subscribe(name, max_packets, self._wake)
        self.resyncs = 0

    def _wake(self) -> None:  # on the camera's ingest thread
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._event_loop.call_soon_threadsafe(self._wakeup.set)

    async def _next_item(self) -> StreamItem:
        """The next fan-out item; MediaStreamError once the track is stopped or the fan-out closed."""
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            self._wakeup.clear()
            item = self._sub.get(timeout_s=0)
            if item is not None:
                return item
            if self._sub.closed:
                self.stop()
                raise MediaStreamError
            await self._wakeup.wait()

    def stop(self) -> None:
        if self.readyState == "live":
            self._fanout.unsubscribe(self._sub)
        super().stop()


class CameraTrack(FanoutTrack):
    kind = "video"

    def __init__(self, fanout: Fanout, name: str) -> None:
        super().__init__(fanout, name, VIEWER_QUEUE_PACKETS)
        self._extradata = b""
        self._codec = Codec.H264
        self._first_dts: int | None = None
        self.packets_sent = 0
        self.keyframes_sent = 0

    async def recv(self) -> av.Packet[Any]:
        while True:
            item = await self._next_item()
            if isinstance(item, SessionStarted):
                self._extradata, self._codec = item.info.extradata, item.info.codec
            elif isinstance(item, PacketsDropped):
                self.resyncs += 1
            elif isinstance(item, SessionEnded):
                continue
            elif isinstance(item, EncodedPacket):
                return self._packet(item)

    def _packet(self, item: EncodedPacket) -> av.Packet[Any]:
        data = item.data
        if item.is_keyframe:
            data = with_parameter_sets(self._codec, data, self._extradata)
            self.keyframes_sent += 1
        if self._first_dts is None:
            self._first_dts = item.dts_90k
        packet = av.Packet(data)
        packet.pts = item.dts_90k - self._first_dts  # no B-frames here: decode order is display order
        packet.time_base = TIME_BASE
        packet.is_keyframe = item.is_keyframe
        self.packets_sent += 1
        return packet
