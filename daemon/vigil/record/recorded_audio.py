"""record_audio's part of a recorder (record/recorder.py): the camera's audio fan-out read on the
recorder's thread, G.711 encoded to AAC (record/audio_transcode.py), and the frames handed to the
open segment when the video has passed them (core/audio_interleave.py decides which).

`take` is called on each of the recorder's wake-ups right after it drained the video, so every
video frame it is about to write has the audio published before it at hand. A segment's audio
track is chosen when it opens: `expect` names the audio the camera's session announced (its SDP)
before its first audio frame arrived, so a run's first segment has the track too."""

from __future__ import annotations

import logging

from vigil.core.audio_interleave import AudioInterleave
from vigil.core.media import AudioInfo, AudioPacket, AudioStarted, SessionEnded
from vigil.ingest.fanout import Subscription
from vigil.record.audio_transcode import G711, G711ToAac
from vigil.record.writer import RECORDABLE_AUDIO, SegmentWriter

log = logging.getLogger(__name__)


class RecordedAudio:
    def __init__(self, name: str, subscription: Subscription) -> None:
        self.name = name  # the recorder's, for the log
        self.sub = subscription
        self.interleave = AudioInterleave()
        self._g711: G711ToAac | None = None  # while the camera's audio is G.711
        self._source: AudioInfo | None = None  # what the camera sends (before any transcoding)
        self._warned_codec = False

    @property
    def info(self) -> AudioInfo | None:
        """What a segment opened now records (None: no audio now)."""
        return self.interleave.info

    def take(self) -> None:
        """Everything the audio fan-out queued since the last call."""
        for item in self.sub.drain():
            if isinstance(item, AudioPacket):
                for packet in (item,) if self._g711 is None else self._g711.push(item):
                    self.interleave.add(packet)
            elif isinstance(item, AudioStarted):
                self._started(item.info)
            elif isinstance(item, SessionEnded):
                self.interleave.ended()
                self._g711 = self._source = None

    def expect(self, info: AudioInfo) -> None:
        """The session's audio as its SDP announced it, before its AudioStarted arrived."""
        if self._source is None:
            self._started(info)

    def _started(self, info: AudioInfo) -> None:
        if info == self._source:
            return  # announced already (expect): keep the frames and the transcoder
        self._source = info
        self._g711 = None
        if info.codec in RECORDABLE_AUDIO:
            self.interleave.started(info)
        elif info.codec in G711:
            self._g711 = G711ToAac(info)
            self.interleave.started(self._g711.info)
        else:
            self.interleave.ended()
            if not self._warned_codec:
                self._warned_codec = True
                log.warning("recorder %s: record_audio is on but the camera sends %s, which an MP4 segment cannot"
                            " hold; recording video only", self.name, info.codec.name)

    def write_due(self, writer: SegmentWriter, segment_start_90k: int, before_90k: int) -> None:
        """The waiting frames before `before_90k` (absolute) into the segment starting at
        `segment_start_90k` (written by `writer`); those before its start are dropped."""
        samples = self.interleave.due(segment_start_90k, before_90k)
        if writer.audio is None or writer.audio != self.interleave.info:
            return  # no audio track, or the camera's audio changed since the segment opened
        for sample in samples:
            writer.write_audio(sample.data, sample.pts_90k, sample.duration_90k)
