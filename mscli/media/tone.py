"""The `tone` microphone: a 1 kHz sine at -20 dBFS with a click on every whole second but 0.

The click (1 ms, +/- 90 % of full scale: a positive then a negative half, so it has no DC)
starts exactly at sample k * sample_rate (k >= 1), the instant the pattern camera shows its
flash for frame k * frame_rate; measuring both in a recording gives the A/V offset
(`find_clicks` and pattern.find_flashes). Neither marks second 0, so that a single frame of the
pattern is not a flash.

1000 Hz is a whole number of cycles per second, so one second of signal repeats exactly; it is
computed once and `samples` only copies from it.
"""

from __future__ import annotations

import numpy as np

TONE_HZ = 1000
TONE_LEVEL = 0.1  # -20 dBFS
CLICK_LEVEL = 0.9
CLICK_SECONDS = 0.001
FULL_SCALE = 32767
CLICK_THRESHOLD = 0.45  # |sample| / full scale above this is a click, never the tone


class ToneGenerator:
    def __init__(self, sample_rate: int, channels: int):
        if int(sample_rate) < 1 or int(channels) < 1:
            raise ValueError(f"invalid tone format {sample_rate} Hz x {channels}")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        sr = self.sample_rate
        n = np.arange(sr)
        second = TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * n / sr)
        click = min(sr, max(2, round(sr * CLICK_SECONDS)))  # a second holds the click
        self._unclicked = np.round(second[:click] * FULL_SCALE).astype(np.int16)  # for second 0
        second[:click // 2] = CLICK_LEVEL
        second[click // 2:click] = -CLICK_LEVEL
        self.click_samples = click
        self._second = np.round(second * FULL_SCALE).astype(np.int16)

    def samples(self, start: int, count: int) -> np.ndarray:
        """Samples [start, start + count) of the signal (sample sample_rate is the first click),
        as a new int16 array of shape (count, channels)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        mono = self._second.take(np.arange(start, start + count), mode="wrap")
        if 0 <= start < self.click_samples:  # no click on second 0
            head = min(count, self.click_samples - start)
            mono[:head] = self._unclicked[start:start + head]
        if self.channels == 1:
            return mono.reshape(count, 1)
        return np.repeat(mono[:, None], self.channels, axis=1)


def find_clicks(samples: np.ndarray, sample_rate: int,
                threshold: float = CLICK_THRESHOLD) -> list[float]:
    """Onsets, in seconds from the first sample, of the clicks in int16 (n,) or (n, channels)
    audio (float audio in [-1, 1] also works): the first sample of each burst whose magnitude
    exceeds `threshold` of full scale; a burst within half a second of the previous is the same
    click."""
    a = np.asarray(samples)
    if a.ndim == 2:
        a = np.abs(a.astype(np.float32)).max(axis=1)
    else:
        a = np.abs(a.astype(np.float32))
    scale = FULL_SCALE if np.issubdtype(np.asarray(samples).dtype, np.integer) else 1.0
    hits = np.flatnonzero(a > threshold * scale)
    if hits.size == 0:
        return []
    starts = hits[np.concatenate(([True], np.diff(hits) > sample_rate // 2))]
    return [int(i) / sample_rate for i in starts]
