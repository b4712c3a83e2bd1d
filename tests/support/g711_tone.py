"""Tones as G.711 and the judge of what a device received: the standard library's `audioop`
(the reference G.711 of CPython 3.11, independent of Vigil's code) around tests/support/tone.py."""

from __future__ import annotations

import warnings

import numpy as np

from tests.support import tone as pcm_tone
from vigil.core.media import AudioCodec

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

SAMPLE_RATE = 8000


def tone(freq_hz: float, seconds: float, codec: AudioCodec, amplitude: float = 0.5) -> bytes:
    """A sine tone as G.711 bytes of `codec` at 8 kHz."""
    pcm = pcm_tone.sine(freq_hz, seconds, SAMPLE_RATE, amplitude).astype("<i2").tobytes()
    return audioop.lin2ulaw(pcm, 2) if codec is AudioCodec.PCMU else audioop.lin2alaw(pcm, 2)


def decode(g711: bytes, codec: AudioCodec) -> np.ndarray:
    pcm = audioop.ulaw2lin(g711, 2) if codec is AudioCodec.PCMU else audioop.alaw2lin(g711, 2)
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def peak_hz(g711: bytes, codec: AudioCodec) -> float:
    """The strongest frequency of the decoded signal."""
    return pcm_tone.peak_hz(decode(g711, codec), SAMPLE_RATE)
