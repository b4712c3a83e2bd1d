"""Test tones and their judge: `sine` makes one; `peak_hz` finds the dominant frequency of decoded
audio, how tests recognise the sim camera's sine (or a browser's fake microphone tone, or what a
simulated loudspeaker heard) after it went through codecs and WebRTC."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def sine(freq_hz: float, seconds: float, sample_rate: int, amplitude: float = 0.5) -> npt.NDArray[np.int16]:
    """`seconds` of a sine at `freq_hz`, 16-bit mono, peaking at `amplitude` of full scale."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (np.sin(2 * np.pi * freq_hz * t) * amplitude * 32767).astype(np.int16)


def peak_hz(samples: npt.ArrayLike, sample_rate: int) -> float:
    """The frequency of the largest FFT bin of `samples` (mono, any numeric dtype), Hann-windowed."""
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim != 1 or data.size < 256:
        raise ValueError(f"need at least 256 mono samples, got shape {data.shape}")
    spectrum = np.abs(np.fft.rfft((data - data.mean()) * np.hanning(data.size)))
    return float(np.argmax(spectrum) * sample_rate / data.size)


def rms(samples: npt.ArrayLike) -> float:
    """Root mean square of `samples` (in their own units)."""
    data = np.asarray(samples, dtype=np.float64)
    return float(np.sqrt(np.mean(np.square(data)))) if data.size else 0.0
