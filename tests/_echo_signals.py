"""Signals for the echo tests, made from a seed (no network, no espeak): a speech-like voice,
tone bursts at irregular times, noise, and what would make a delay unmeasurable (a steady
tone, bursts repeating at a fixed period). Mono float32, full scale 1.0."""

from __future__ import annotations

import wave

import numpy as np

# Vowel formants (Hz) and bandwidths of a voice, through which the glottal pulses pass.
FORMANTS = ((700, 130), (1220, 170), (2600, 250))


def speech_like(seconds: float, rate: int, seed: int = 1) -> np.ndarray:
    """Glottal pulses at a wandering pitch (100-140 Hz) through three formants, in syllables
    of 80-300 ms with pauses of 50-250 ms: a voice's spectrum and rhythm."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    pitch = 120 * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6)))
    cycles = np.floor(np.cumsum(pitch / rate))
    excitation = (np.diff(cycles, prepend=0) > 0) + 0.05 * rng.standard_normal(n)
    freq = np.fft.rfftfreq(n) * 2 * np.pi  # radians per sample
    spectrum = np.fft.rfft(excitation)
    voiced = np.zeros(n)
    for centre, width in FORMANTS:
        r, theta = np.exp(-np.pi * width / rate), 2 * np.pi * centre / rate
        response = 1 / (1 - 2 * r * np.cos(theta) * np.exp(-1j * freq)
                        + r * r * np.exp(-2j * freq))
        voiced += np.fft.irfft(spectrum * response, n)
    out = voiced * _gates(n, rate, rng, (0.08, 0.3), (0.05, 0.25), np.hanning)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def tone_bursts(seconds: float, rate: int, seed: int = 2, frequency: float = 1000.0,
                periodic: bool = False) -> np.ndarray:
    """A tone switched on for 50-200 ms and off for 50-400 ms, at random (periodic: 100 ms
    on, 200 ms off, always)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    on, off = ((0.1, 0.1), (0.2, 0.2)) if periodic else ((0.05, 0.2), (0.05, 0.4))
    gates = _gates(n, rate, rng, on, off, np.ones)
    return (0.3 * np.sin(2 * np.pi * frequency * np.arange(n) / rate) * gates).astype(np.float32)


def steady_tone(seconds: float, rate: int, frequency: float = 1000.0) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * frequency * np.arange(round(seconds * rate)) / rate)
            ).astype(np.float32)


def noise(seconds: float, rate: int, seed: int = 3, level: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal(round(seconds * rate))).astype(np.float32)


def echo_of(played: np.ndarray, rate: int, delay: float, gain: float = 0.5) -> np.ndarray:
    """What a microphone hears of `played` (which starts at time 0): delayed and scaled."""
    shift = round(delay * rate)
    return gain * np.concatenate((np.zeros(shift, np.float32), played[:len(played) - shift]))


def with_noise(signal: np.ndarray, snr_db: float, seed: int = 4) -> np.ndarray:
    """`signal` plus white noise `snr_db` below it (power over the whole signal)."""
    rng = np.random.default_rng(seed)
    power = float(np.mean(signal.astype(np.float64) ** 2)) / 10 ** (snr_db / 10)
    return (signal + np.sqrt(power) * rng.standard_normal(len(signal))).astype(np.float32)


def int16(signal: np.ndarray) -> np.ndarray:
    """(samples, 1) int16, as sources deliver and speakers take."""
    return np.clip(np.round(signal * 32767), -32768, 32767).astype(np.int16).reshape(-1, 1)


def write_wav(path, signal: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(int16(signal).tobytes())


def _gates(n: int, rate: int, rng, on: tuple, off: tuple, shape) -> np.ndarray:
    """On/off stretches of random lengths (uniform in the ranges, seconds), each on stretch
    shaped by shape(length)."""
    out = np.zeros(n)
    i = 0
    while i < n:
        length = round(rng.uniform(*on) * rate)
        out[i:i + length] = shape(length)[:n - i]
        i += length + round(rng.uniform(*off) * rate)
    return out
