"""G.711 to AAC for the record: the MP4 muxer takes no G.711, so a camera's PCMU/PCMA is decoded
and encoded to AAC-LC (FFmpeg's own encoder, the camera's sample rate and channels,
AAC_BIT_RATE) before it meets the recorder's interleave (core/audio_interleave.py). Runs on the
recorder's thread; its cost is measured in bench/record_audio.py.

Times: the encoder counts samples from the session's first G.711 frame (`base_pts_90k`); each
decoded frame keeps its own place (samples from the base, from its pts), so a gap in the camera's
audio stays a gap. An AAC frame's pts is its first sample's time on the video's media clock; the
encoder's priming frames (before the first sample) are dropped. A frame that cannot be decoded
or encoded is dropped and counted, never stopping the video."""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

import av

from vigil.core.media import AudioCodec, AudioInfo, AudioPacket

log = logging.getLogger(__name__)

AAC_BIT_RATE = 32_000  # speech at 8 kHz mono: plenty; ~4 KB/s
G711 = frozenset({AudioCodec.PCMU, AudioCodec.PCMA})


class G711ToAac:
    """One audio session's transcoder: G.711 AudioPackets in, AAC AudioPackets out."""

    def __init__(self, source: AudioInfo) -> None:
        if source.codec not in G711:
            raise ValueError(f"{source.codec.name} is not G.711")
        self.source = source
        layout = "mono" if source.channels == 1 else "stereo"
        self._decoder = av.CodecContext.create(source.codec.value, "r")
        self._decoder.sample_rate = source.sample_rate
        self._decoder.layout = layout
        self._encoder = av.CodecContext.create("aac", "w")
        self._encoder.sample_rate = source.sample_rate
        self._encoder.layout = layout
        self._encoder.format = "fltp"
        self._encoder.bit_rate = AAC_BIT_RATE
        self._encoder.time_base = Fraction(1, source.sample_rate)
        self._encoder.open()
        self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=source.sample_rate)
        # What the recorder records: AAC with the encoder's own AudioSpecificConfig.
        extradata = bytes(self._encoder.extradata or b"")
        self.info = AudioInfo(AudioCodec.AAC, source.sample_rate, source.channels, extradata)
        self._base_pts_90k: int | None = None
        self.dropped = 0

    def _samples(self, pts_90k: int) -> int:
        assert self._base_pts_90k is not None
        return (pts_90k - self._base_pts_90k) * self.source.sample_rate // 90_000

    def _pts_90k(self, samples: int) -> int:
        assert self._base_pts_90k is not None
        return self._base_pts_90k + samples * 90_000 // self.source.sample_rate

    def push(self, packet: AudioPacket) -> list[AudioPacket]:
        """The AAC frames this G.711 frame completes (often none: AAC frames are 1024 samples)."""
        if self._base_pts_90k is None:
            self._base_pts_90k = packet.pts_90k
        try:
            decoded = self._decoder.decode(av.Packet(packet.data))
            out: list[AudioPacket] = []
            samples = self._samples(packet.pts_90k)
            for frame in decoded:
                for resampled in self._resampler.resample(frame):
                    resampled.pts = samples
                    resampled.time_base = self._encoder.time_base
                    samples += resampled.samples
                    out += self._packets(self._encoder.encode(resampled), packet.received_wall_ns)
            return out
        except (av.FFmpegError, ValueError) as error:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("G.711 to AAC for the record: a frame dropped (%s)", error)
            return []

    def _packets(self, encoded: list[av.Packet[Any]], wall_ns: int) -> list[AudioPacket]:
        frame_90k = 1024 * 90_000 // self.source.sample_rate
        return [AudioPacket(bytes(p), self._pts_90k(p.pts), frame_90k, wall_ns)
                for p in encoded if p.pts is not None and p.pts >= 0]  # priming frames: before the first sample
