"""G.711 (ITU-T G.711, 8 kHz mono, one byte per sample): μ-law (PCMU) and A-law (PCMA) in numpy.

Pure. The intercom re-encodes what the browser's microphone sends (aiortc hands decoded s16
frames) into the law the device negotiated, and the tests decode what a test camera received.
Rules:

- Encoding takes signed 16-bit linear samples; decoding gives them back on the same scale
  (μ-law: ±32124 at most, A-law: ±32256), as the reference code (Sun's g711.c, FFmpeg) does.
  Encoding picks the nearest code, as FFmpeg does. Both are one table look-up per sample
  (tables built once, at import), so any input is valid: there is nothing to reject.
- `convert` re-encodes bytes of one law into the other (decode, then encode).
- `Chunker` cuts a byte stream into whole packets of `CHUNK_SAMPLES` (20 ms, the RTP packet size
  devices expect) and keeps the remainder for the next call; `flush` returns what is left."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vigil.core.media import AudioCodec

SAMPLE_RATE = 8000
CHUNK_SAMPLES = 160  # 20 ms at 8 kHz

_ULAW_BIAS = 0x84
_ULAW_MASK, _ALAW_MASK = 0xFF, 0xD5  # what the positive codes are XORed with

Samples = npt.NDArray[np.int16]


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32) ^ 0xFF
    exponent, mantissa = (code >> 4) & 0x07, code & 0x0F
    magnitude = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment, value = (code & 0x70) >> 4, (code & 0x0F) << 4
    magnitude = np.where(segment == 0, value + 8, (value + 0x108) << np.maximum(segment - 1, 0))
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


def _encode_table(decoded: npt.NDArray[np.int16], mask: int) -> npt.NDArray[np.uint8]:
    """Each of the 65536 samples' nearest code: the decision levels are the midpoints between
    neighbouring decoded levels, on a 14-bit grid (FFmpeg's build_xlaw_table, so the appliance
    encodes exactly as FFmpeg and GStreamer's ffmpeg-based encoders do)."""
    table = np.empty(16384, dtype=np.uint8)
    table[8192] = mask
    j = 1
    for code in range(127):
        level = (int(decoded[code ^ mask]) + int(decoded[(code + 1) ^ mask]) + 4) >> 3
        if j < level:
            table[8192 - level + 1:8192 - j + 1] = code ^ mask ^ 0x80
            table[8192 + j:8192 + level] = code ^ mask
            j = level
    table[1:8192 - j + 1] = 127 ^ mask ^ 0x80
    table[8192 + j:] = 127 ^ mask
    table[0] = table[1]
    return np.repeat(table, 4)


_DECODE = {AudioCodec.PCMU: _ulaw_decode_table(), AudioCodec.PCMA: _alaw_decode_table()}
_ENCODE = {AudioCodec.PCMU: _encode_table(_DECODE[AudioCodec.PCMU], _ULAW_MASK),
           AudioCodec.PCMA: _encode_table(_DECODE[AudioCodec.PCMA], _ALAW_MASK)}


def _law(codec: AudioCodec) -> AudioCodec:
    if codec not in _ENCODE:
        raise ValueError(f"{codec.name} is not G.711")
    return codec


def encode(samples: Samples, codec: AudioCodec) -> bytes:
    """Signed 16-bit samples as G.711 bytes of `codec` (PCMU or PCMA)."""
    table = _ENCODE[_law(codec)]
    return table[np.asarray(samples, dtype=np.int16).astype(np.int32) + 32768].tobytes()


def decode(data: bytes, codec: AudioCodec) -> Samples:
    """G.711 bytes of `codec` as signed 16-bit samples."""
    return _DECODE[_law(codec)][np.frombuffer(data, dtype=np.uint8)]


def convert(data: bytes, source: AudioCodec, target: AudioCodec) -> bytes:
    """G.711 bytes of one law as the other (or unchanged when the laws are the same)."""
    if _law(source) is _law(target):
        return data
    return encode(decode(data, source), target)


class Chunker:
    """Whole `chunk_bytes` packets out of a stream of G.711 bytes; at most one packet held back."""

    def __init__(self, chunk_bytes: int = CHUNK_SAMPLES) -> None:
        if chunk_bytes <= 0:
            raise ValueError("chunk_bytes must be positive")
        self.chunk_bytes = chunk_bytes
        self._pending = b""

    def push(self, data: bytes) -> list[bytes]:
        buffer = self._pending + data
        whole = len(buffer) - len(buffer) % self.chunk_bytes
        self._pending = buffer[whole:]
        return [buffer[i:i + self.chunk_bytes] for i in range(0, whole, self.chunk_bytes)]

    def flush(self) -> bytes:
        rest, self._pending = self._pending, b""
        return rest
