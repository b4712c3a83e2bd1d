"""The motion worker of one camera: decodes what it needs from the camera's fan-out and scores it.

Two modes (design/motion.md has the costs):
- substream: every frame of the (small) substream is decoded (P-frames need their references)
  and at most SCORE_FPS of them are scored;
- keyframes: only the main stream's keyframes are decoded (each decodes on its own): one sample
  per GOP, at the cost of decoding a full-size picture.
It reads its own bounded subscription: when it falls behind, the fan-out drops its packets
until the next keyframe (never the recorder's), and the worker records how many it skipped.

A sample's time is when its picture is shown, on the wall clock of the packet that carried it
(core/media_clock.DecodedTimes, shown_wall_ns), never the time of the packet just fed: a
decoder for a stream with B-frames returns pictures late (by `has_b_frames` pictures). In
keyframe mode, where that would be GOPs, the decoder is drained after each keyframe (which
decodes on its own), so each sample is scored as its keyframe arrives; at the end of a session
it is drained too, so no picture is left in it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from av.video.codeccontext import VideoCodecContext

from vigil.core.camera_modes import MotionMode
from vigil.core.errors import DiskFullError
from vigil.core.h26x import with_parameter_sets
from vigil.core.media import Codec, EncodedPacket, PacketsDropped, SessionEnded, SessionStarted, StreamItem
from vigil.core.media_clock import DecodedTimes, shown_wall_ns
from vigil.core.motion import MotionParams, MotionSample, MotionScorer
from vigil.core.motion_intervals import IntervalTracker
from vigil.core.timebase import NS_PER_SECOND, ticks_to_ns
from vigil.core.wallclock import continued_wall_ns
from vigil.ingest.fanout import Subscription, consume_in_batches
from vigil.store.motion import MotionSecond, MotionStore

log = logging.getLogger(__name__)

SCORE_FPS = 5
ANALYSIS_WIDTH = 160
QUEUE_PACKETS = 150  # ~10 s at 15 fps
BATCH_INTERVAL_S = 0.1
FLUSH_SECONDS_EVERY = 5


class MotionWorker:
    def __init__(self, camera_id: str, mode: MotionMode, subscription: Subscription, store: MotionStore,
                 params: MotionParams, on_event: Callable[[str, int, str | None, str | None], None]) -> None:
        if mode not in (MotionMode.SUBSTREAM, MotionMode.KEYFRAMES):  # AUTO is resolved by CameraConfig.motion_mode
            raise ValueError(f"motion mode {mode!r}")
        self.camera_id = camera_id
        self.mode = mode
        self.sub = subscription
        self.store = store
        self.params = params
        self.on_event = on_event  # (kind, wall_ns, reason, detail) for the camera's timeline
        self.scorer = MotionScorer(params)
        self.tracker = IntervalTracker(params.cell_threshold)
        self.samples_scored = 0
        self.packets_skipped = 0
        self.decode_errors = 0
        self.index_full_drops = 0  # motion writes refused by a full index
        self._index_full = False
        self.heartbeat_monotonic = time.monotonic()
        self._decoder: VideoCodecContext | None = None
        self._codec = Codec.H264
        self._extradata = b""
        self._anchor: tuple[int, int] | None = None  # (dts_90k, wall_ns) of the session's first packet
        self._first_offset_90k = 0  # its composition offset (pts - dts)
        self._times = DecodedTimes()  # wall time of each picture in the decoder, by pts
        self._last_scored_ns = 0
        self._second: MotionSecond | None = None
        self._seconds: list[MotionSecond] = []

    def run(self) -> None:
        """Thread body: until the subscription is closed and drained."""
        try:
            consume_in_batches(self.sub, self._handle_or_skip, BATCH_INTERVAL_S, self._beat)
        finally:
            self._stored_or_skipped(self._end_session)

    def _handle_or_skip(self, item: StreamItem) -> None:
        self._stored_or_skipped(lambda: self._handle(item))

    def _stored_or_skipped(self, body: Callable[[], None]) -> None:
        """A full index (core/errors.DiskFullError) drops motion data instead of ending the worker."""
        try:
            body()
        except DiskFullError as error:
            self.index_full_drops += 1
            if not self._index_full:  # once per streak
                log.warning("motion %s: the index is full; motion data is dropped until there is room (%s)",
                            self.camera_id, error)
            self._index_full = True
            return
        self._index_full = False

    def _beat(self) -> None:
        self.heartbeat_monotonic = time.monotonic()

    def _handle(self, item: StreamItem) -> None:
        if isinstance(item, EncodedPacket):
            self._on_packet(item)
        elif isinstance(item, SessionStarted):
            self._end_session()
            self.scorer.reset()  # the scene may have changed while the camera was away
            self._codec, self._extradata = item.info.codec, item.info.extradata
            decoder = av.CodecContext.create(self._codec.value, "r")
            assert isinstance(decoder, VideoCodecContext)
            self._decoder = decoder
            self._anchor = None
            self._times.clear()
        elif isinstance(item, SessionEnded):
            self._end_session()
        elif isinstance(item, PacketsDropped):
            self.packets_skipped += item.count
            log.warning("motion %s fell behind: skipped %d packets", self.camera_id, item.count)
            self.on_event("motion_skipped", time.time_ns(), "overflow", f"{item.count} packets not analysed")

    def _on_packet(self, packet: EncodedPacket) -> None:
        if self._decoder is None or (self.mode is MotionMode.KEYFRAMES and not packet.is_keyframe):
            return
        if self._anchor is None:
            self._anchor = (packet.dts_90k, packet.received_wall_ns)
            self._first_offset_90k = packet.pts_90k - packet.dts_90k
            self.on_event("motion_started", packet.received_wall_ns, None, self.mode.value)
        wall_ns, reanchored = continued_wall_ns(self._anchor[1] + ticks_to_ns(packet.dts_90k - self._anchor[0]),
                                                packet.received_wall_ns)
        if reanchored:  # the camera's clock drifted, as the recorder handles it
            self._anchor = (packet.dts_90k, wall_ns)
        data = with_parameter_sets(self._codec, packet.data, self._extradata) if packet.is_keyframe else packet.data
        av_packet = av.Packet(data)
        av_packet.pts, av_packet.dts = packet.pts_90k, packet.dts_90k
        self._times.fed(packet.pts_90k,
                        shown_wall_ns(wall_ns, packet.dts_90k, packet.pts_90k, self._first_offset_90k))
        self._decode(av_packet)
        if self.mode is MotionMode.KEYFRAMES and self._decoder is not None:
            # A keyframe decodes on its own: take its picture now instead of 2-3 GOPs later.
            self._decode(None)
            self._decoder.flush_buffers()

    def _decode(self, packet: av.Packet[Any] | None) -> None:
        """Feed the decoder (None: drain it) and score what comes out, each frame at its own time."""
        assert self._decoder is not None
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError as error:
            self.decode_errors += 1
            if self.decode_errors == 1:
                log.warning("motion %s: cannot decode (%s); skipping to the next keyframe", self.camera_id, error)
            return
        for frame in frames:
            if not isinstance(frame, av.VideoFrame):
                continue
            wall_ns = self._times.decoded(frame.pts)
            if wall_ns is None:
                continue
            if self.mode is MotionMode.SUBSTREAM and wall_ns - self._last_scored_ns < NS_PER_SECOND // SCORE_FPS:
                continue
            self._last_scored_ns = wall_ns
            height = max(2, round(ANALYSIS_WIDTH * frame.height / frame.width) // 2 * 2)
            gray = frame.reformat(width=ANALYSIS_WIDTH, height=height, format="gray").to_ndarray()
            self._on_sample(self.scorer.score(np.asarray(gray, dtype=np.uint8), wall_ns))

    def _on_sample(self, sample: MotionSample) -> None:
        self.samples_scored += 1
        interval = self.tracker.feed(sample)
        if interval is not None:
            self.store.add_interval(self.camera_id, interval)
        second = sample.wall_ns // NS_PER_SECOND
        current = self._second
        if current is not None and current.second == second:
            self._second = MotionSecond(second, max(current.score, sample.score),
                                        np.maximum(current.heatmap, sample.heatmap))
            return
        if current is not None and current.score > 0:
            self._seconds.append(current)
        self._second = MotionSecond(second, sample.score, sample.heatmap)
        if len(self._seconds) >= FLUSH_SECONDS_EVERY:
            self._flush_seconds()

    def _flush_seconds(self) -> None:
        if self._seconds:
            seconds, self._seconds = self._seconds, []  # dropped if the index cannot take them
            self.store.add_seconds(self.camera_id, seconds)

    def _end_session(self) -> None:
        if self._decoder is not None:
            self._decode(None)  # the pictures the decoder still holds (B-frame reordering)
        interval = self.tracker.flush()
        if interval is not None:
            self.store.add_interval(self.camera_id, interval)
        if self._second is not None and self._second.score > 0:
            self._seconds.append(self._second)
        self._second = None
        self._flush_seconds()
        self._decoder = None
