"""Writing one segment: encoded packets remuxed (never decoded) into a fragmented MP4.

The moov is written first (empty_moov) and a fragment is flushed at every keyframe and at least
every second (frag_duration), so a file cut short by a crash is playable up to its last complete
fragment. Runs on the recorder's thread.

A write that fails (ENOSPC, EIO, ...) leaves the muxer in a state nobody defined: libavformat may
crash if it is asked to write again, even its trailer. So the writer owns the file: the muxer
writes through `_SegmentFile`, which writes every byte or raises, and on the first failure the
writer marks itself failed, closes that file and never calls the muxer again (PyAV skips the
trailer of a container whose file object is closed). The file then ends with whatever fragments
were complete; the recorder keeps those (record/recovery.py cuts the partial tail).

The output stream is created from a template: the segment's parameter sets and first keyframe
read by FFmpeg's raw H.264/H.265 demuxer. That yields correct codec parameters (sample entry,
width, height) without an encoder; `add_stream(codec)` would open a real encoder whose own
headers end up in the file.

With record_audio the segment has a second track (track 2, after the video's track 1): the
camera's AAC or Opus frames, remuxed like the video. Its stream is an encoder's context opened
only to give the muxer its parameters, with the camera's own AudioSpecificConfig (or an
OpusHead made from the AudioInfo) as extradata; nothing is ever encoded. The MP4 muxer takes
no G.711 (FFmpeg refuses pcm_mulaw/pcm_alaw in `mp4`): the recorder encodes G.711 to AAC first
(record/audio_transcode.py).
Packets of both tracks go through libavformat's interleaver (ordered by time), which holds a
packet at most `max_interleave_delta` while the other track is silent. The muxer starts each
track at 0 (with empty_moov it cannot write an edit list): a segment's first audio frame is
placed at its start, up to one frame (AAC 1024 samples, Opus 20 ms) early, and lasts until the
next one, which is at its exact time."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vigil.core.h26x import template_access_unit
from vigil.core.media import AudioCodec, AudioInfo, Codec

TIME_BASE = Fraction(1, 90_000)
MUXER_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "frag_duration": "1000000",  # µs: a fragment at least every second, even with long GOPs
    "flush_packets": "1",  # hand each fragment to the OS at once (survives kill -9)
}
# With an audio track: a packet waits at most this long (µs) in the interleaver for the other track.
AUDIO_MUXER_OPTIONS = {**MUXER_OPTIONS, "max_interleave_delta": "1000000"}
RECORDABLE_AUDIO = frozenset({AudioCodec.AAC, AudioCodec.OPUS})  # what the MP4 muxer takes as it is
_AUDIO_ENCODERS = {AudioCodec.AAC: "aac", AudioCodec.OPUS: "libopus"}


def opus_head(info: AudioInfo) -> bytes:
    """The OpusHead (RFC 7845 5.1) an MP4's `dOps` is made from: the SDP carries none."""
    return b"OpusHead" + bytes([1, info.channels]) + (312).to_bytes(2, "little") + \
        info.sample_rate.to_bytes(4, "little") + b"\x00\x00\x00"


class WriterFailedError(OSError):
    """The segment's writer failed before; its muxer is not touched again."""


class _SegmentFile(io.RawIOBase):
    """The segment file as the muxer's output: unbuffered (each fragment reaches the OS at once),
    seekable, and never a short write: libavformat takes a short count as success and would lose
    the rest, so a write either completes or raises."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        self.error: OSError | None = None  # the first write error, also if libavformat dropped it

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise WriterFailedError(f"{self.path}: written after the segment file was closed")
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as error:
            self.error = self.error or error
            raise
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return os.lseek(self.fd, offset, whence)

    def tell(self) -> int:
        return os.lseek(self.fd, 0, os.SEEK_CUR)

    def fsync(self) -> None:
        os.fsync(self.fd)

    def close(self) -> None:
        if not self.closed:
            try:
                os.close(self.fd)
            finally:
                super().close()


class SegmentWriter:
    """One open segment file. Timestamps given to `write` are relative to the segment start.

    After any failed `write` or `close` the writer is `failed`: `write` and `close` raise
    WriterFailedError without touching the muxer, and `abandon` lets go of it."""

    def __init__(self, path: Path, codec: Codec, extradata: bytes, first_keyframe: bytes,
                 audio: AudioInfo | None = None) -> None:
        if audio is not None and audio.codec not in RECORDABLE_AUDIO:
            raise ValueError(f"{audio.codec.name} audio cannot go into an MP4 segment")
        self.path = path
        self.failed = False
        template_bytes = template_access_unit(codec, extradata, first_keyframe)  # each parameter set once
        with av.open(io.BytesIO(template_bytes), format=codec.value) as template:
            source = template.streams.video[0]
            self.width = int(source.codec_context.width or 0)
            self.height = int(source.codec_context.height or 0)
            self._file = _SegmentFile(path)
            try:
                self._container = av.open(self._file, "w", format="mp4",
                                          options=MUXER_OPTIONS if audio is None else AUDIO_MUXER_OPTIONS)
                stream = self._container.add_stream_from_template(source)
                self._audio_stream = None if audio is None else self._add_audio(audio)
            except BaseException:
                self._file.close()
                raise
        stream.time_base = TIME_BASE
        if codec is Codec.H265:
            stream.codec_tag = "hvc1"  # the tag browsers and QuickTime accept
        self._stream = stream
        self.frame_count = 0
        self.keyframe_count = 0
        self.duration_90k = 0
        self.audio = audio  # the AudioInfo of the segment's audio track, None without one
        self.audio_packet_count = 0

    def _add_audio(self, info: AudioInfo) -> av.AudioStream:
        stream = self._container.add_stream(_AUDIO_ENCODERS[info.codec], rate=info.sample_rate,
                                            layout="mono" if info.channels == 1 else "stereo")
        ctx = stream.codec_context
        ctx.open()  # parameters only: the muxer copies them, no frame is ever encoded
        ctx.extradata = info.extradata if info.codec is AudioCodec.AAC else opus_head(info)
        assert isinstance(stream, av.AudioStream)
        return stream

    def write_audio(self, data: bytes, pts_90k: int, duration_90k: int) -> None:
        """One audio frame, its time relative to the segment start (as the video's)."""
        self._check_usable()
        if self._audio_stream is None:
            raise ValueError(f"{self.path}: the segment has no audio track")
        packet = av.Packet(data)
        packet.stream = self._audio_stream
        packet.time_base = TIME_BASE
        packet.pts = packet.dts = pts_90k
        packet.duration = duration_90k
        self._mux(packet)
        self.audio_packet_count += 1

    def write(self, data: bytes, pts_90k: int, dts_90k: int, duration_90k: int, is_keyframe: bool) -> None:
        self._check_usable()
        packet = av.Packet(data)
        packet.stream = self._stream
        packet.time_base = TIME_BASE
        packet.pts = pts_90k
        packet.dts = dts_90k
        packet.duration = duration_90k
        packet.is_keyframe = is_keyframe
        self._mux(packet)
        self.frame_count += 1
        self.keyframe_count += int(is_keyframe)
        self.duration_90k = dts_90k + duration_90k

    def _mux(self, packet: av.Packet[Any]) -> None:
        """Hand one packet to the muxer; on any failure the writer is abandoned (module docstring)."""
        try:
            self._container.mux(packet)
        except BaseException:
            self.abandon()
            raise
        self._raise_dropped_error()

    def close(self) -> None:
        """Flush the last fragment and the index box, then fsync and close the file."""
        self._check_usable()
        try:
            self._container.close()
            self._raise_dropped_error()
            self._file.fsync()
        except BaseException:
            self.abandon()
            raise
        self._file.close()

    def abandon(self) -> None:
        """Let go of a failed segment: close the file first, so that neither this call nor the
        garbage collector makes the muxer write (its trailer) again. Never raises."""
        self.failed = True
        with contextlib.suppress(OSError):  # the descriptor is released either way
            self._file.close()

    def _check_usable(self) -> None:
        if self.failed:
            raise WriterFailedError(f"{self.path}: the segment's writer failed before; not writing again")

    def _raise_dropped_error(self) -> None:
        """A write error libavformat did not report (some paths ignore the I/O context's error)."""
        if self._file.error is not None:
            error = self._file.error
            self.abandon()
            raise error


def hash_file(path: Path) -> tuple[int, str]:
    """(size in bytes, SHA-256 hex) of a file as it is on disk."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
