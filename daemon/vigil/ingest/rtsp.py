"""One RTSP session per camera stream, demux only, with reconnect and backoff.

Runs on its own thread (PyAV blocks). Publishes SessionStarted, normalized EncodedPackets and
SessionEnded to the camera's Fanout; records up/down transitions as events. When given an audio
fan-out and the camera sends G.711, AAC or Opus, its audio goes there (AudioStarted, AudioPackets
on the video's media clock, SessionEnded); audio never delays or ends the video session."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from urllib.parse import quote, urlsplit, urlunsplit

import av

from vigil.config import CameraConfig
from vigil.core.audio_timeline import AudioTimeline
from vigil.core.backoff import BackoffPolicy
from vigil.core.camera_health import CameraHealth, CameraState, Transition
from vigil.core.camera_modes import Stream
from vigil.core.failure import classify_failure
from vigil.core.h26x import iter_nal_units, nal_type
from vigil.core.media import (
    AudioCodec,
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
from vigil.ingest.fanout import Fanout
from vigil.logs import redact

log = logging.getLogger(__name__)

_CODECS = {"h264": Codec.H264, "hevc": Codec.H265}
_AUDIO_CODECS = {c.value: c for c in AudioCodec}
# How far the video clock's offset may move before audio is placed anew on it (ticks of 90 kHz).
AUDIO_REANCHOR_90K = 45_000
_IDR_TYPES = {Codec.H264: frozenset({5}), Codec.H265: frozenset(range(16, 22))}


def log_failure(name: str, health: CameraHealth, reason: DownReason, message: str) -> None:
    """A failed session attempt of either ingest: warned once per outage, and again only if the
    cause changes; a repeat of the same cause is debug."""
    if health.state is CameraState.DOWN and health.reason is reason:
        log.debug("camera %s: still down: %s (%s)", name, reason.value, message)
    else:
        log.warning("camera %s: %s (%s)", name, reason.value, message)


class UnsupportedStreamError(Exception):
    """The camera answered, but with a stream we cannot record as-is."""


def url_with_credentials(url: str, username: str | None, password: str | None) -> str:
    """The URL handed to the demuxer: credentials percent-encoded into it. Never log it."""
    if username is None:
        return url
    parts = urlsplit(url)
    auth = f"{quote(username, safe='')}:{quote(password or '', safe='')}"
    return urlunsplit(parts._replace(netloc=f"{auth}@{parts.netloc}"))


def contains_idr(codec: Codec, data: bytes) -> bool:
    return any(nal_type(codec, nal) in _IDR_TYPES[codec] for nal in iter_nal_units(data))


class RtspIngest:
    """The reconnecting session loop of one camera stream."""

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
        self.audio: AudioInfo | None = None  # the latest session's audio track, if it had one we take
        self.health = CameraHealth()
        self.stop_event = threading.Event()
        self.packets_received = 0
        self.last_packet_wall_ns: int | None = None
        # What the latest session showed: WebRTC passthrough needs H.264 without B-frames.
        self.codec: Codec | None = None
        self.has_bframes = False
        self.clock_skew_ms: float | None = None  # FFmpeg hides RTCP: never known on this path
        self._audio_noted = False

    @property
    def name(self) -> str:
        return f"{self.camera.id}/{self.stream}"

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        """Thread body: connect, demux, reconnect, until stop()."""
        attempt = 0
        while not self.stop_event.is_set():
            started = time.monotonic()
            reason = self._session_once()
            if self.stop_event.is_set():
                break
            transition = self.health.failed(reason, time.time_ns())
            if transition is not None:
                self.on_transition(transition)
            attempt = self.backoff.next_attempt(attempt, time.monotonic() - started)
            self.stop_event.wait(self.backoff.delay_s(attempt, random.random()))

    def _session_once(self) -> DownReason:
        secrets = (self.camera.password or "",)
        options = {
            "rtsp_transport": self.camera.transport.value,
            "timeout": str(int(self.camera.timeout_s * 1_000_000)),
            "analyzeduration": "0",
            "probesize": "32",
            "fflags": "nobuffer",
        }
        started_session = audio_started = False
        try:
            source = url_with_credentials(self.url, self.camera.username, self.camera.password)
            # FFmpeg's own socket timeout (`timeout` above), not PyAV's `timeout=`: that one installs
            # an interrupt callback taking the GIL on every socket read (measured: the largest
            # share of the demux threads' cost with 32 cameras).
            with av.open(source, options=options) as container:
                video = self._pick_stream(container)
                codec = _CODECS[video.codec_context.name]
                ctx = video.codec_context
                info = StreamInfo(codec, ctx.width or 0, ctx.height or 0, bytes(ctx.extradata or b""))
                self.codec, self.has_bframes = codec, False
                audio = self._pick_audio(container)
                self.audio = None if audio is None else audio[1]
                clock = MediaClock()
                audio_timeline = AudioTimeline()  # FFmpeg re-bases RTP time on the first sender report
                # normalized - raw (both 90 kHz) of the latest video packet: audio's place on the media clock
                video_offset_90k: int | None = None
                flags_keyframes = False  # once the demuxer has flagged one, trust its flags
                for packet in container.demux(video, *(() if audio is None else (audio[0],))):
                    if self.stop_event.is_set():
                        break
                    if packet.size == 0:
                        continue
                    now_wall = time.time_ns()
                    if audio is not None and packet.stream_index == audio[0].index:
                        if video_offset_90k is None or packet.pts is None or self.audio_fanout is None:
                            continue  # before the first video packet: no media clock to place it on
                        if not audio_started:
                            audio_started = True
                            self.audio_fanout.publish(AudioStarted(audio[1], now_wall))
                        tb = packet.time_base or audio[0].time_base or Fraction(1, audio[1].sample_rate)
                        duration_90k = int((packet.duration or 0) * tb * 90_000)
                        pts_90k = audio_timeline.place(int(packet.pts * tb * 90_000) + video_offset_90k, duration_90k)
                        self.audio_fanout.publish(AudioPacket(bytes(packet), pts_90k, duration_90k, now_wall))
                        continue
                    if not started_session:
                        started_session = True
                        self.on_transition(self.health.connected(now_wall))
                        self.fanout.publish(SessionStarted(info, now_wall))
                    data = bytes(packet)
                    stamped = clock.stamp(packet.dts, packet.pts, time.monotonic_ns())
                    if packet.dts is not None:
                        tb = packet.time_base or video.time_base or Fraction(1, 90_000)
                        offset_90k = stamped.dts_90k - int(packet.dts * tb * 90_000)
                        # Kept while the video clock only wobbles (a repaired timestamp moves it by a
                        # few ticks, which would put steps into the sound); moved when it jumps.
                        if video_offset_90k is None or abs(offset_90k - video_offset_90k) > AUDIO_REANCHOR_90K:
                            video_offset_90k = offset_90k
                    flags_keyframes = flags_keyframes or packet.is_keyframe
                    keyframe = packet.is_keyframe or (not flags_keyframes and contains_idr(codec, data))
                    if stamped.pts_90k != stamped.dts_90k:
                        self.has_bframes = True
                    self.fanout.publish(EncodedPacket(data, stamped.dts_90k, stamped.pts_90k, keyframe, now_wall))
                    self.packets_received += 1
                    self.last_packet_wall_ns = now_wall
            reason = DownReason.SHUTDOWN if self.stop_event.is_set() else DownReason.ENDED
            if not self.stop_event.is_set():
                log.warning("camera %s: stream ended", self.name)
        except UnsupportedStreamError as error:
            reason = DownReason.BAD_STREAM
            log_failure(self.name, self.health, reason, str(error))
        except (av.FFmpegError, OSError) as error:
            errno = getattr(error, "errno", None)
            reason = classify_failure(errno, type(error).__name__, redact(str(error), secrets))
            log_failure(self.name, self.health, reason, redact(str(error), secrets))
        if started_session:
            self.fanout.publish(SessionEnded(reason, time.time_ns()))
        if audio_started and self.audio_fanout is not None:  # audio consumers see an end only after a start
            self.audio_fanout.publish(SessionEnded(reason, time.time_ns()))
        return reason

    def _pick_stream(self, container: av.container.InputContainer) -> av.VideoStream:
        if not container.streams.video:
            raise UnsupportedStreamError("no video stream offered")
        video = container.streams.video[0]
        if video.codec_context.name not in _CODECS:
            raise UnsupportedStreamError(f"video codec {video.codec_context.name} is not H.264/H.265")
        return video

    def _pick_audio(self, container: av.container.InputContainer) -> tuple[av.AudioStream, AudioInfo] | None:
        """The first audio track in a codec we pass on, when this stream has an audio fan-out."""
        if self.audio_fanout is None or not container.streams.audio:
            return None
        for stream in container.streams.audio:
            codec = _AUDIO_CODECS.get(stream.codec_context.name)
            if codec is not None:
                ctx = stream.codec_context
                info = AudioInfo(codec, ctx.sample_rate or 8000, ctx.channels or 1, bytes(ctx.extradata or b""))
                if not self._audio_noted:  # once per camera: what it sends, and what becomes of it
                    self._audio_noted = True
                    log.info("camera %s: has an audio track (%s, %d Hz): live viewers can listen; it is recorded"
                             " only with record_audio = true", self.name, codec.name, info.sample_rate)
                return stream, info
        if not self._audio_noted:
            self._audio_noted = True
            log.info("camera %s: its audio (%s) is in no codec the appliance takes (G.711, AAC, Opus)", self.name,
                     ", ".join(s.codec_context.name for s in container.streams.audio))
        return None
