"""Synthetic speech-like signals for the audio processing tests (no espeak, no network).

A voice is a glottal pulse train (a pitch that glides like intonation) through three formant
resonators whose frequencies move from syllable to syllable, under a syllable envelope of about
four syllables a second: harmonic, formant-shaped and modulated like speech, which is what the
WebRTC module's speech detectors look for. Noise is white, seeded. Levels are RMS in dBFS
(full scale 1.0) over the whole signal given.
"""

from __future__ import annotations

import numpy as np

VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (300, 870, 2240),
          (570, 840, 2410))  # formants (Hz) of a, i, e, u, o


def voice(seconds: float, rate: int, seed: int = 1, pitch: float = 120.0) -> np.ndarray:
    """Float32 mono, peak-normalised to 0.5, of `seconds` of syllables without pauses."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = pitch * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6)))
    phase = np.cumsum(f0 / rate)
    pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per pitch period
    syllable = int(0.25 * rate)
    out = np.zeros(n)
    for start in range(0, n, syllable):
        part = pulses[start:start + syllable]
        formants = VOWELS[rng.integers(len(VOWELS))]
        shaped = sum(_resonate(part, f, 80.0, rate) for f in formants)
        envelope = np.sin(np.pi * np.arange(len(part)) / syllable) ** 2
        out[start:start + len(part)] = shaped * envelope
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


def _resonate(x: np.ndarray, freq: float, bandwidth: float, rate: int) -> np.ndarray:
    """A two-pole resonator (one formant)."""
    r = np.exp(-np.pi * bandwidth / rate)
    a1, a2 = -2 * r * np.cos(2 * np.pi * freq / rate), r * r
    y = np.zeros(len(x))
    y1 = y2 = 0.0
    for i, v in enumerate(x):  # short signals: a plain loop is fast enough
        y0 = v - a1 * y1 - a2 * y2
        y[i], y2, y1 = y0, y1, y0
    return y


def noise(seconds: float, rate: int, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * rate)).astype(np.float32)


def at_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    """x scaled to an RMS of `dbfs`."""
    return (x * (10 ** (dbfs / 20) / rms(x))).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x.astype(np.float64)))))


def dbfs(x: np.ndarray) -> float:
    return 20 * np.log10(max(rms(x), 1e-12))


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)
