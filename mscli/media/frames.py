"""The frames that flow from sources through tracks to sinks.

Video is I420 (yuv420p) in one contiguous 1-D uint8 array: the Y plane (width x height), then
U, then V (each ceil(width/2) x ceil(height/2)), with no padding between rows: the layout y4m
writes as is. Odd sizes are valid and common: the engine rounds rescaled sizes to the nearest
pixel, as Chromium does (27x20 from a 40x30 mode).
Audio is interleaved signed 16-bit, shape (samples, channels).

Every frame carries its presentation time twice: `pts` in `time_base` units for muxers, and
`time` in seconds on the capture clock, from which pts was derived.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass
class VideoFrame:
    data: np.ndarray  # uint8, 1-D, I420: Y then U then V, rows unpadded
    width: int
    height: int
    pts: int
    time_base: Fraction  # 1 / frame rate for synthetic sources
    time: float  # seconds since capture start, capture clock
    index: int  # the source's frame number (burned into the pattern)

    @property
    def y(self) -> np.ndarray:
        return self.data[: self.width * self.height].reshape(self.height, self.width)

    @property
    def u(self) -> np.ndarray:
        return self._chroma(0)

    @property
    def v(self) -> np.ndarray:
        return self._chroma(1)

    def _chroma(self, which: int) -> np.ndarray:
        cw, ch = chroma_size(self.width, self.height)
        start = self.width * self.height + which * cw * ch
        return self.data[start:start + cw * ch].reshape(ch, cw)


def chroma_size(width: int, height: int) -> tuple[int, int]:
    return (width + 1) // 2, (height + 1) // 2


def i420_size(width: int, height: int) -> int:
    cw, ch = chroma_size(width, height)
    return width * height + 2 * cw * ch


@dataclass
class AudioFrame:
    data: np.ndarray  # int16, (samples, channels), interleaved
    sample_rate: int
    pts: int  # in samples since capture start (time_base 1 / sample_rate)
    time: float  # seconds since capture start, capture clock

    @property
    def channels(self) -> int:
        return self.data.shape[1]

    @property
    def samples(self) -> int:
        return self.data.shape[0]

    @property
    def time_base(self) -> Fraction:
        return Fraction(1, self.sample_rate)
