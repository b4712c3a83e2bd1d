"""Live re-encoding of a camera stream that WebRTC cannot carry as it is (H.265, B-frames) to
H.264 constrained baseline, for every viewer of that stream at once.

A `Transcoder` is one more subscriber of the camera's fan-out (bounded, `QUEUE_PACKETS`; the
fan-out's drop policy applies: when the encoder falls behind, packets are dropped up to the
next keyframe, so the recorder and the other viewers never wait for it). On a thread of its own
(`transcode-<camera>[-sub]`; PyAV releases the GIL while FFmpeg decodes, scales and encodes) it
decodes with PyAV, scales down to fit the bound it was given
(core/live_video.fit_size), encodes with libx264 (`PRESET`, `tune=zerolatency`, profile
baseline, no B-frames, an IDR every second and on each new viewer, SPS/PPS before every IDR) and
publishes the result on its own Fanout: SessionStarted (H.264, the encoded size), EncodedPackets
with pts = dts (the source's display times), SessionEnded when the camera's session ends. The
viewers' CameraTracks read that fan-out exactly like a camera's H.264.

`Transcoders` keeps one per (camera, stream): the first viewer starts it, each viewer holds it,
and the last one to leave starts a stop grace of `STOP_GRACE_S` (a page reload or a switch of
quality finds it running); the cap on concurrent transcodes is decided by core/live_video.
Starting a new transcoder stops the idle ones at once, so no more than the cap ever encode."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from av.video.frame import PictureType

from vigil.core.camera_modes import Stream
from vigil.core.h26x import with_parameter_sets
from vigil.core.live_video import fit_size
from vigil.core.media import (
    Codec,
    DownReason,
    EncodedPacket,
    PacketsDropped,
    SessionEnded,
    SessionStarted,
    StreamInfo,
    StreamItem,
)
from vigil.ingest.fanout import Fanout

log = logging.getLogger(__name__)

TIME_BASE = Fraction(1, 90_000)
QUEUE_PACKETS = 30  # ~2 s at 15 fps: past that the encoder skips to the camera's next keyframe
STOP_GRACE_S = 5.0  # after its last viewer leaves
GOP_90K = 90_000  # an IDR every second
PRESET = "veryfast"  # x264: ultrafast halves the CPU but doubles the bits (bench/RESULTS.md)
CRF = 25
# VBV cap: 2 Mbit/s at 1280x720, in proportion to the pixels below that, at least 300 kbit/s.
MAX_BITRATE_720P_BPS = 2_000_000
MIN_BITRATE_BPS = 300_000
DEFAULT_FPS = Fraction(15)


def x264_options(width: int, height: int) -> dict[str, str]:
    """libx264's options for a live transcode at this size (also what bench/transcode.py gives ffmpeg)."""
    rate = max(MIN_BITRATE_BPS, MAX_BITRATE_720P_BPS * width * height // (1280 * 720))
    return {"preset": PRESET, "tune": "zerolatency", "profile": "baseline", "crf": str(CRF),
            "maxrate": str(rate), "bufsize": str(rate), "forced-idr": "1", "x264-params": "repeat-headers=1"}


@dataclass(frozen=True)
class TranscodeKey:
    camera_id: str
    stream: Stream

    @property
    def thread_name(self) -> str:  # system/journal.py reads the camera from it
        return f"transcode-{self.camera_id}" + ("-sub" if self.stream is Stream.SUB else "")


class Transcoder:
    """One camera stream re-encoded, on its own thread, from `source` to `output`."""

    def __init__(self, key: TranscodeKey, source: Fanout, max_width: int, max_height: int) -> None:
        self.key = key
        self.source = source
        self.output = Fanout()
        self.max_width, self.max_height = max_width, max_height
        self.viewers = 0
        self.stop_timer: asyncio.TimerHandle | None = None
        self._sub = source.subscribe(f"{key.camera_id}/{key.stream.value}/transcode", QUEUE_PACKETS)
        self._keyframe_wanted = threading.Event()
        self.finished = threading.Event()
        self.size: tuple[int, int] | None = None  # what it encodes at, once it has decoded a frame
        self.frames_encoded = 0
        self.resyncs = 0
        self._decoder: Any = None
        self._encoder: Any = None
        self._info: StreamInfo | None = None
        self._held: Any = None  # the first frame, until the second gives the frame rate
        self._last_pts: int | None = None
        self._last_key_pts: int | None = None
        self._started = False  # the output's SessionStarted was published

    def start(self) -> None:
        threading.Thread(target=self.run, name=self.key.thread_name, daemon=True).start()

    def stop(self) -> None:
        """Unsubscribe; the thread ends after the item it is on, and closes `output`."""
        self.source.unsubscribe(self._sub)

    def request_keyframe(self) -> None:
        """The next encoded frame is an IDR (a new viewer sees a picture at once)."""
        self._keyframe_wanted.set()

    def run(self) -> None:
        """Thread body: until the subscription is closed (stop, or the camera's pipeline stopped)."""
        log.info("transcode %s/%s: started", self.key.camera_id, self.key.stream.value)
        try:
            while True:
                item = self._sub.get(timeout_s=1.0)
                if item is None:
                    if self._sub.closed:
                        break
                    continue
                try:
                    self._handle(item)
                except av.FFmpegError as error:  # a corrupt packet: drop it, the next IDR recovers
                    log.debug("transcode %s: %s", self.key.thread_name, error)
        except Exception:  # its viewers' tracks end; the next viewer starts a new one
            log.exception("transcode %s/%s failed", self.key.camera_id, self.key.stream.value)
        finally:
            self._end_session(SessionEnded(DownReason.SHUTDOWN, time.time_ns()))
            self.output.close()
            self.finished.set()
            log.info("transcode %s/%s: stopped after %d frames (%.1f s of CPU)", self.key.camera_id,
                     self.key.stream.value, self.frames_encoded, time.thread_time())

    def _handle(self, item: StreamItem) -> None:
        if isinstance(item, SessionStarted):
            self._end_session(SessionEnded(DownReason.ENDED, time.time_ns()))
            self._info = item.info
            self._decoder = av.CodecContext.create(item.info.codec.value, "r")
            self._decoder.thread_type = "SLICE"  # frame threads would hold back a frame per thread
        elif isinstance(item, SessionEnded):
            self._end_session(item)
        elif isinstance(item, PacketsDropped):
            self.resyncs += 1
        elif isinstance(item, EncodedPacket) and self._decoder is not None and self._info is not None:
            data = with_parameter_sets(self._info.codec, item.data, self._info.extradata) if item.is_keyframe \
                else item.data
            packet = av.Packet(data)
            packet.pts, packet.dts, packet.time_base = item.pts_90k, item.dts_90k, TIME_BASE
            for frame in self._decoder.decode(packet):
                self._encode(frame, item.received_wall_ns)

    def _end_session(self, ended: SessionEnded) -> None:
        """Forget the camera session's decoder and encoder; tell the viewers it ended."""
        if self._started:
            self.output.publish(ended)
        self._decoder = self._encoder = self._held = None
        self._last_pts = self._last_key_pts = None
        self._started = False

    def _encode(self, frame: Any, wall_ns: int) -> None:
        if frame.pts is None or (self._last_pts is not None and frame.pts <= self._last_pts):
            return  # frames a resync left behind: x264 wants increasing times
        if self._encoder is None:
            if self._held is None:
                self._held = frame
                return
            self._open(self._held, frame, wall_ns)
            held, self._held = self._held, None
            self._encode_one(held, wall_ns)
        self._encode_one(frame, wall_ns)

    def _open(self, first: Any, second: Any, wall_ns: int) -> None:
        interval_90k = second.pts - first.pts
        fps = Fraction(90_000, interval_90k).limit_denominator(1001) if 0 < interval_90k < 90_000 else DEFAULT_FPS
        width, height = fit_size(first.width, first.height, self.max_width, self.max_height)
        encoder: Any = av.CodecContext.create("libx264", "w")
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.time_base, encoder.framerate = TIME_BASE, fps
        encoder.gop_size = max(1, round(fps))
        encoder.max_b_frames = 0
        encoder.options = x264_options(width, height)
        encoder.open()
        self._encoder, self.size = encoder, (width, height)
        self.output.publish(SessionStarted(StreamInfo(Codec.H264, width, height, b""), wall_ns))
        self._started = True
        log.info("transcode %s: %dx%d -> %dx%d H.264 at %s fps", self.key.thread_name, first.width, first.height,
                 width, height, fps)

    def _encode_one(self, frame: Any, wall_ns: int) -> None:
        assert self.size is not None
        width, height = self.size
        scaled = frame if (frame.width, frame.height, frame.format.name) == (width, height, "yuv420p") \
            else frame.reformat(width=width, height=height, format="yuv420p")
        scaled.pts, scaled.time_base = frame.pts, TIME_BASE
        due = self._last_key_pts is None or frame.pts - self._last_key_pts >= GOP_90K
        if due or self._keyframe_wanted.is_set():
            self._keyframe_wanted.clear()
            scaled.pict_type = PictureType.I
        self._last_pts = frame.pts
        for packet in self._encoder.encode(scaled):
            if packet.is_keyframe:
                self._last_key_pts = packet.pts
            self.output.publish(EncodedPacket(bytes(packet), packet.dts, packet.pts, packet.is_keyframe, wall_ns))
            self.frames_encoded += 1


class Transcoders:
    """The running transcoders, one per (camera, stream), each held by its viewers. Called on the
    event loop only; `acquire` never awaits, so concurrent offers cannot pass the cap together."""

    def __init__(self, grace_s: float = STOP_GRACE_S) -> None:
        self.grace_s = grace_s
        self._running: dict[TranscodeKey, Transcoder] = {}

    def _live(self, key: TranscodeKey, source: Fanout) -> Transcoder | None:
        transcoder = self._running.get(key)
        if transcoder is None or transcoder.finished.is_set() or transcoder.source is not source:
            return None  # none, or it ended with its camera's pipeline (a reload made a new fan-out)
        return transcoder

    def running(self, key: TranscodeKey, source: Fanout) -> bool:
        """Whether the transcoder a viewer of `key` would use runs (with viewers or in its grace)."""
        return self._live(key, source) is not None

    def busy(self) -> int:
        """Transcoders with viewers now (what `[webrtc] max_transcodes` caps)."""
        return sum(t.viewers > 0 and not t.finished.is_set() for t in self._running.values())

    def all(self) -> tuple[Transcoder, ...]:
        """The transcoders running now (with viewers or in their grace)."""
        return tuple(t for t in self._running.values() if not t.finished.is_set())

    def acquire(self, key: TranscodeKey, source: Fanout, max_width: int, max_height: int) -> Transcoder:
        """The transcoder of `key`, started if none runs; the caller holds it until `release`."""
        transcoder = self._live(key, source)
        if transcoder is None:
            for idle in [t for t in self._running.values() if t.viewers == 0 or t.finished.is_set()]:
                self._stop(idle)
            old = self._running.pop(key, None)
            if old is not None:
                self._stop(old)
            transcoder = Transcoder(key, source, max_width, max_height)
            self._running[key] = transcoder
            transcoder.start()
        if transcoder.stop_timer is not None:
            transcoder.stop_timer.cancel()
            transcoder.stop_timer = None
        transcoder.viewers += 1
        transcoder.request_keyframe()
        return transcoder

    def release(self, transcoder: Transcoder) -> None:
        """A viewer left: after the last one, the transcoder stops once `grace_s` passed without a new one."""
        transcoder.viewers = max(0, transcoder.viewers - 1)
        if transcoder.viewers == 0 and transcoder.stop_timer is None:
            transcoder.stop_timer = asyncio.get_running_loop().call_later(self.grace_s, self._idle_ended, transcoder)

    def _idle_ended(self, transcoder: Transcoder) -> None:
        transcoder.stop_timer = None
        if transcoder.viewers == 0:
            self._stop(transcoder)

    def _stop(self, transcoder: Transcoder) -> None:
        if transcoder.stop_timer is not None:
            transcoder.stop_timer.cancel()
            transcoder.stop_timer = None
        if self._running.get(transcoder.key) is transcoder:
            del self._running[transcoder.key]
        transcoder.stop()

    def close_all(self) -> None:
        for transcoder in list(self._running.values()):
            self._stop(transcoder)
