"""One camera stream through Vigil's own RTSP/RTP client (design/ingest.md), with reconnect and backoff.

The same interface and items as ingest/rtsp.RtspIngest (the FFmpeg path): SessionStarted,
EncodedPackets (normalized by core/media_clock.MediaClock), SessionEnded on the video fan-out;
AudioStarted (only after the video's SessionStarted), AudioPackets on the video's media clock and
SessionEnded on the audio fan-out. `run()` is a thread body running an asyncio loop; `stop()` may
be called from any thread and ends the session within a fraction of a second (TEARDOWN sent).

Rules:
- An access unit is published when the depacketizer releases it (on the marker bit); its
  `received_wall_ns` is the arrival of its last RTP packet. The session starts (SessionStarted,
  camera up) with the first keyframe; access units before it are of no use to any consumer.
- Timestamps: the RTP timestamp is unwrapped (core/rtp.TimestampUnwrapper) and scaled to 90 kHz:
  that is the pts. The dts comes from core/decode_order.DecodeOrder (dts = pts without B-frames;
  with them the reorder depth the SPS states (core/sps.py), else the one learned, kept across
  this stream's sessions). The SPS (SDP's, else the first keyframe's) also gives the
  StreamInfo's size. Both then go through MediaClock as the FFmpeg path's do.
- Camera clock: each track's RTCP sender reports feed a core/rtcp_clock.RtcpClock; the video's
  skew (camera - appliance, ms) is `clock_skew_ms` (None before a report). EncodedPacket's
  `camera_wall_ns` is the camera's wall time of the picture when known.
- Audio on the video clock: an audio frame's place on the video's raw 90 kHz timeline is taken
  from both tracks' sender reports when both have one, else from arrival times (the newest video
  access unit's pts plus the arrival difference). That placement is kept while a new one stays
  within AUDIO_REANCHOR_90K of it (sound without steps; sender reports arriving later move it by
  milliseconds only, so they do not re-place it); then, as in the FFmpeg path, the video's
  offset normalized - raw (kept under the same rule) puts it on the media clock, and
  core/audio_timeline.AudioTimeline keeps it continuous through wobbles of a few ticks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from vigil.config import CameraConfig
from vigil.core.audio_timeline import AudioTimeline
from vigil.core.backoff import BackoffPolicy
from vigil.core.camera_health import CameraHealth, Transition
from vigil.core.camera_modes import Stream
from vigil.core.decode_order import DecodeOrder
from vigil.core.depacketize import VideoDepacketizer
from vigil.core.depacketize_audio import AudioDepacketizer, AudioFrame
from vigil.core.media import (
    AudioInfo,
    AudioPacket,
    AudioStarted,
    Codec,
    DownReason,
    EncodedPacket,
    SessionEnded,
    SessionStarted,
    StreamInfo,
)
from vigil.core.media_clock import MediaClock
from vigil.core.rtcp_clock import RtcpClock
from vigil.core.rtp import RtpPacket, SenderReport, TimestampUnwrapper
from vigil.core.rtsp_client import Playing
from vigil.core.sdp import AudioTrack, VideoTrack
from vigil.core.sps import find_sps
from vigil.ingest.fanout import Fanout
from vigil.ingest.native_rtsp import AUDIO, VIDEO, NativeSession, SessionParams
from vigil.ingest.rtsp import AUDIO_REANCHOR_90K, log_failure
from vigil.logs import redact

log = logging.getLogger(__name__)


def _to_90k(ext: int, clock_rate_hz: int) -> int:
    return ext if clock_rate_hz == 90_000 else ext * 90_000 // clock_rate_hz


class _Session:
    """One session's media state: the MediaSink of native_rtsp.NativeSession."""

    def __init__(self, ingest: NativeRtspIngest) -> None:
        self.ingest = ingest
        self.started = self.audio_started = False
        self.video: VideoTrack | None = None
        self.audio: AudioTrack | None = None
        self.info: StreamInfo | None = None
        self.depacketizer: VideoDepacketizer | None = None
        self.audio_depacketizer: AudioDepacketizer | None = None
        self.unwrap, self.audio_unwrap = TimestampUnwrapper(), TimestampUnwrapper()
        self.order = DecodeOrder(ingest.reorder_depth)
        self.clock = MediaClock()
        self.rtcp: list[RtcpClock | None] = [None, None]
        self.prev_arrival_ns = 0
        self.prev_timestamp: int | None = None
        self.video_offset_90k: int | None = None  # normalized - raw of the newest video access unit
        self.last_video: tuple[int, int, int] | None = None  # (raw pts 90k, ext ts, arrival wall ns)
        self.audio_shift_90k: int | None = None  # audio raw 90 kHz -> video raw 90 kHz
        self.audio_timeline = AudioTimeline()  # continuous while the placement only wobbles

    # --- MediaSink --------------------------------------------------------------------------------

    def playing(self, event: Playing) -> None:
        video = event.video.track
        assert isinstance(video, VideoTrack)
        self.video = video
        self.info = StreamInfo(video.codec, 0, 0, video.extradata)
        self.depacketizer = VideoDepacketizer(video.codec)
        self.rtcp[VIDEO] = RtcpClock(video.clock_rate_hz)
        ingest = self.ingest
        ingest.codec, ingest.has_bframes = video.codec, False
        audio = None if event.audio is None else event.audio.track
        if isinstance(audio, AudioTrack) and ingest.audio_fanout is not None:
            self.audio = audio
            self.audio_depacketizer = AudioDepacketizer(audio.info.codec, audio.clock_rate_hz, dict(audio.fmtp))
            self.rtcp[AUDIO] = RtcpClock(audio.clock_rate_hz)
            ingest.note_audio(audio.info)
        ingest.audio = None if self.audio is None else self.audio.info

    def rtp(self, track: int, packet: RtpPacket, arrival_wall_ns: int) -> None:
        if track == VIDEO:
            assert self.depacketizer is not None and self.video is not None
            if packet.payload_type != self.video.payload_type:
                return
            for unit in self.depacketizer.push(packet):
                # Released by this packet's marker: it arrived now; by a timestamp change: with the last one.
                last = arrival_wall_ns if unit.rtp_timestamp == packet.timestamp else self.prev_arrival_ns
                self.publish_video(unit.data, unit.rtp_timestamp, unit.is_keyframe, last)
            self.prev_arrival_ns = arrival_wall_ns
        elif self.audio_depacketizer is not None and self.audio is not None:
            if packet.payload_type != self.audio.payload_type:
                return
            for frame in self.audio_depacketizer.push(packet):
                self.publish_audio(frame, arrival_wall_ns)

    def sender_report(self, track: int, report: SenderReport, arrival_wall_ns: int) -> None:
        clock = self.rtcp[track]
        if clock is None:
            return
        clock.on_sender_report(report, arrival_wall_ns)
        if track == VIDEO:
            self.ingest.clock_skew_ms = clock.skew_ms()

    # --- publishing -------------------------------------------------------------------------------

    def publish_video(self, data: bytes, timestamp: int, keyframe: bool, arrival_wall_ns: int) -> None:
        ingest, video, info = self.ingest, self.video, self.info
        assert video is not None and info is not None
        ext = self.unwrap.unwrap(timestamp)
        if not self.started:
            if not keyframe:
                return  # no consumer can use what comes before the first keyframe
            self.started = True
            sps = find_sps(video.codec, video.extradata) or find_sps(video.codec, data)
            if sps is not None:
                info = self.info = replace(info, width=sps.width, height=sps.height)
            # The SPS's reorder depth is right from the first picture; else what this stream showed before.
            self.order = DecodeOrder(ingest.reorder_depth if sps is None or sps.reorder_frames is None
                                     else sps.reorder_frames)
            ingest.on_transition(ingest.health.connected(arrival_wall_ns))
            ingest.fanout.publish(SessionStarted(info, arrival_wall_ns))
        pts = _to_90k(ext, video.clock_rate_hz)
        dts = self.order.dts(pts)
        ingest.reorder_depth = self.order.depth
        stamped = self.clock.stamp(dts, pts, time.monotonic_ns())
        offset_90k = stamped.dts_90k - dts
        if self.video_offset_90k is None or abs(offset_90k - self.video_offset_90k) > AUDIO_REANCHOR_90K:
            self.video_offset_90k = offset_90k
        if stamped.pts_90k != stamped.dts_90k:
            ingest.has_bframes = True
        clock = self.rtcp[VIDEO]
        camera_wall = None if clock is None else clock.wall_ns(ext)
        self.last_video = (pts, ext, arrival_wall_ns)
        ingest.fanout.publish(EncodedPacket(data, stamped.dts_90k, stamped.pts_90k, keyframe, arrival_wall_ns,
                                            camera_wall))
        ingest.packets_received += 1
        ingest.last_packet_wall_ns = arrival_wall_ns

    def publish_audio(self, frame: AudioFrame, arrival_wall_ns: int) -> None:
        ingest, audio = self.ingest, self.audio
        if self.video_offset_90k is None or self.last_video is None or audio is None or ingest.audio_fanout is None:
            return  # before the first video access unit: no media clock to place it on
        rate = audio.clock_rate_hz
        ext = self.audio_unwrap.unwrap(frame.rtp_timestamp)
        raw_90k = _to_90k(ext, rate)
        shift = self.audio_shift(ext, raw_90k, arrival_wall_ns)
        if self.audio_shift_90k is None or abs(shift - self.audio_shift_90k) > AUDIO_REANCHOR_90K:
            self.audio_shift_90k = shift
        if not self.audio_started:
            self.audio_started = True
            ingest.audio_fanout.publish(AudioStarted(audio.info, arrival_wall_ns))
        duration_90k = frame.duration_samples * 90_000 // rate
        pts_90k = self.audio_timeline.place(raw_90k + self.audio_shift_90k + self.video_offset_90k, duration_90k)
        ingest.audio_fanout.publish(AudioPacket(frame.data, pts_90k, duration_90k, arrival_wall_ns))

    def audio_shift(self, ext: int, raw_90k: int, arrival_wall_ns: int) -> int:
        """video raw 90k - audio raw 90k for this frame: by both tracks' sender reports when both
        have had one, else by arrival times."""
        assert self.last_video is not None
        video_pts, video_ext, video_arrival = self.last_video
        video_clock, audio_clock = self.rtcp[VIDEO], self.rtcp[AUDIO]
        audio_wall = None if audio_clock is None else audio_clock.wall_ns(ext)
        video_wall = None if video_clock is None else video_clock.wall_ns(video_ext)
        if audio_wall is not None and video_wall is not None:
            return video_pts + (audio_wall - video_wall) * 90_000 // 1_000_000_000 - raw_90k
        return video_pts + (arrival_wall_ns - video_arrival) * 90_000 // 1_000_000_000 - raw_90k

    def flush(self) -> None:
        """What the depacketizer still holds, complete, at the session's end."""
        if self.depacketizer is not None and self.started:
            for unit in self.depacketizer.flush():
                self.publish_video(unit.data, unit.rtp_timestamp, unit.is_keyframe, self.prev_arrival_ns)


class NativeRtspIngest:
    """The reconnecting session loop of one camera stream, on Vigil's own RTSP client."""

    def __init__(
        self,
        camera: CameraConfig,
        url: str,
        stream: Stream,
        fanout: Fanout,
        on_transition: Callable[[Transition], None],
        backoff: BackoffPolicy | None = None,
        audio_fanout: Fanout | None = None,
    ) -> None:
        self.camera = camera
        self.url = url
        self.stream = stream
        self.fanout = fanout
        self.on_transition = on_transition
        self.backoff = backoff or BackoffPolicy()
        self.audio_fanout = audio_fanout
        self.audio: AudioInfo | None = None
        self.health = CameraHealth()
        self.stop_event = threading.Event()
        self.packets_received = 0
        self.last_packet_wall_ns: int | None = None
        self.codec: Codec | None = None
        self.has_bframes = False
        self.clock_skew_ms: float | None = None  # camera clock - appliance clock, from RTCP; None: unknown
        self.reorder_depth = 0  # learned B-frame reorder depth, kept across sessions
        self.bad_packets = 0
        self._audio_noted = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    @property
    def name(self) -> str:
        return f"{self.camera.id}/{self.stream}"

    def stop(self) -> None:
        """Thread-safe: the session ends (TEARDOWN sent) and `run` returns promptly."""
        self.stop_event.set()
        with self._lock:
            loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed: run() is returning anyway
                loop.call_soon_threadsafe(wake.set)

    def run(self) -> None:
        """Thread body: connect, receive, reconnect, until stop()."""
        asyncio.run(self._main())

    async def _main(self) -> None:
        wake = asyncio.Event()
        with self._lock:
            self._loop, self._wake = asyncio.get_running_loop(), wake
        try:
            if self.stop_event.is_set():
                return
            attempt = 0
            while not self.stop_event.is_set():
                started = time.monotonic()
                reason = await self._session_once(wake)
                if self.stop_event.is_set():
                    break
                transition = self.health.failed(reason, time.time_ns())
                if transition is not None:
                    self.on_transition(transition)
                attempt = self.backoff.next_attempt(attempt, time.monotonic() - started)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.backoff.delay_s(attempt, random.random())):
                        await wake.wait()
        finally:
            with self._lock:
                self._loop = self._wake = None

    async def _session_once(self, wake: asyncio.Event) -> DownReason:
        session = _Session(self)
        params = SessionParams(self.url, self.camera.username, self.camera.password, self.camera.transport,
                               self.camera.timeout_s, want_audio=self.audio_fanout is not None)
        shell = NativeSession(params, session, wake)
        try:
            reason, message = await shell.run()
        finally:
            self.bad_packets += shell.bad_packets
        session.flush()
        if self.stop_event.is_set():
            reason = DownReason.SHUTDOWN
        else:
            log_failure(self.name, self.health, reason, redact(message, (self.camera.password or "",)))
        if session.started:
            self.fanout.publish(SessionEnded(reason, time.time_ns()))
        if session.audio_started and self.audio_fanout is not None:
            self.audio_fanout.publish(SessionEnded(reason, time.time_ns()))
        return reason

    def note_audio(self, info: AudioInfo) -> None:
        if not self._audio_noted:  # once per camera: what it sends, and what becomes of it
            self._audio_noted = True
            log.info("camera %s: has an audio track (%s, %d Hz): live viewers can listen; it is recorded"
                     " only with record_audio = true", self.name, info.codec.name, info.sample_rate)
