"""Tones as G.711 and the judge of what a device received: the standard library's `audioop`
(the reference G.711 of CPython 3.11, independent of Vigil's code) and a numpy FFT."""

from __future__ import annotations

import warnings

import numpy as np

from vigil.core.media import AudioCodec

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

SAMPLE_RATE = 8000


def tone(freq_hz: float, seconds: float, codec: AudioCodec, amplitude: float = 0.5) -> bytes:
    """A sine tone as G.711 bytes of `codec` at 8 kHz."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pcm = (np.sin(2 * np.pi * freq_hz * t) * amplitude * 32767).astype("<i2").tobytes()
    return audioop.lin2ulaw(pcm, 2) if codec is AudioCodec.PCMU else audioop.lin2alaw(pcm, 2)


def decode(g711: bytes, codec: AudioCodec) -> np.ndarray:
    pcm = audioop.ulaw2lin(g711, 2) if codec is AudioCodec.PCMU else audioop.alaw2lin(g711, 2)
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def peak_hz(g711: bytes, codec: AudioCodec) -> float:
    """The strongest frequency of the decoded signal."""
    samples = decode(g711, codec)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    spectrum[0] = 0.0
    return float(np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)[int(np.argmax(spectrum))])
