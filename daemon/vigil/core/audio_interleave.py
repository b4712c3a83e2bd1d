"""Which of a camera's audio frames go into which recorded segment (pure; record/recorder.py applies it).

Rules (record_audio = true, design/storage.md "Audio"):
- Audio frames carry pts on the session's video media clock (ingest/rtsp.py), so a segment that
  starts at the video keyframe with dts S and is cut at the keyframe with dts E takes the audio
  frames with S <= pts < E; segment rotation stays on video keyframes.
- Frames wait here until the video passes them: `due(before_90k)` hands over those before the
  video frame about to be written (the muxer interleaves them by time), and a cut at E hands over
  those before E to the segment it closes.
- A frame before the open segment's start is dropped: audio before a run's first keyframe (no
  segment yet) and audio arriving after its segment was closed. So a segment never holds sound
  from before its first picture.
- At most `max_frames` wait (about 20 s of AAC at 48 kHz); past that the oldest are dropped, so a
  recorder whose video stalls keeps bounded memory.
- A frame whose duration the camera did not give gets its codec's frame length (AAC 1024
  samples, Opus 20 ms), in 90 kHz ticks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from vigil.core.media import AudioCodec, AudioInfo, AudioPacket

DEFAULT_MAX_FRAMES = 1024
_FRAME_SAMPLES = {AudioCodec.AAC: 1024}
_OPUS_FRAME_90K = 1800  # 20 ms


def frame_duration_90k(info: AudioInfo, given_90k: int) -> int:
    """A frame's duration: as the camera gave it, else its codec's usual frame length."""
    if given_90k > 0:
        return given_90k
    samples = _FRAME_SAMPLES.get(info.codec)
    if samples is None:
        return _OPUS_FRAME_90K
    return max(1, samples * 90_000 // max(1, info.sample_rate))


@dataclass(frozen=True)
class AudioSample:
    """An audio frame to write, its time relative to its segment's start."""

    data: bytes
    pts_90k: int
    duration_90k: int


class AudioInterleave:
    """The audio frames waiting for the video of one camera stream."""

    def __init__(self, max_frames: int = DEFAULT_MAX_FRAMES) -> None:
        self.max_frames = max_frames
        self.info: AudioInfo | None = None  # of the current audio session; None: no audio now
        self._waiting: deque[AudioPacket] = deque()
        self.dropped = 0  # frames dropped (late, before a segment, over the bound), for the log

    def started(self, info: AudioInfo) -> None:
        """A new audio session: frames of the last one are forgotten."""
        self.info = info
        self._waiting.clear()

    def ended(self) -> None:
        self.info = None
        self._waiting.clear()

    def add(self, packet: AudioPacket) -> None:
        if self.info is None:
            self.dropped += 1
            return
        if len(self._waiting) >= self.max_frames:
            self._waiting.popleft()
            self.dropped += 1
        self._waiting.append(packet)

    def due(self, segment_start_90k: int, before_90k: int) -> list[AudioSample]:
        """The waiting frames with pts < before_90k, relative to the segment that starts at
        segment_start_90k; those before it are dropped. They stop waiting."""
        info = self.info
        out: list[AudioSample] = []
        while self._waiting and self._waiting[0].pts_90k < before_90k:
            packet = self._waiting.popleft()
            if packet.pts_90k < segment_start_90k or info is None:
                self.dropped += 1
                continue
            out.append(AudioSample(packet.data, packet.pts_90k - segment_start_90k,
                                   frame_duration_90k(info, packet.duration_90k)))
        return out

    def drop_before(self, pts_90k: int) -> None:
        """Forget the waiting frames before pts_90k (no segment is open for them)."""
        while self._waiting and self._waiting[0].pts_90k < pts_90k:
            self._waiting.popleft()
            self.dropped += 1

    def __len__(self) -> int:
        return len(self._waiting)
