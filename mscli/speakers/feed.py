"""What a writer gives a speaker, turned into what the speaker plays.

A writer (the audio track, a played file) hands over chunks of int16 (samples, channels) at
its own rate, each with the capture time it should play at. A speaker plays one continuous
stream in its own format: `Feed` resamples and remixes (libswresample through
media.convert.AudioConverter, whose state runs across chunks), fills a gap between chunks
with silence (a muted track, a lost block: the speaker plays nothing meanwhile), and plays a
chunk that comes early right after the one before (a speaker plays one thing at a time). The
output's time is where its first sample falls on that continuous stream.
"""

from __future__ import annotations

import numpy as np

from mscli.media.convert import AudioConverter

GAP_SAMPLES = 2  # a gap this small is rounding between chunk times, not a pause


class Feed:
    def __init__(self, src_rate: int, src_channels: int, dst_rate: int, dst_channels: int):
        self.converter = AudioConverter(src_rate, src_channels, dst_rate, dst_channels)
        self.start: float | None = None  # capture time of the first sample
        self.taken = 0  # input samples taken, silence included
        self.given = 0  # output samples given

    @property
    def rate(self) -> int:
        return self.converter.dst_rate

    def push(self, data: np.ndarray, time: float) -> tuple[np.ndarray, float]:
        """(samples ready in the speaker's format, the capture time of the first of them)."""
        src_rate = self.converter.src_rate
        if self.start is None:
            self.start = time
        gap = round((time - self.start) * src_rate) - self.taken
        if gap > GAP_SAMPLES:
            data = np.concatenate([np.zeros((gap, data.shape[1]), np.int16), data])
        self.taken += len(data)
        return self._out(self.converter.convert(data))

    def flush(self) -> tuple[np.ndarray, float]:
        """What the resampler held back, at the end."""
        return self._out(self.converter.flush())

    def _out(self, data: np.ndarray) -> tuple[np.ndarray, float]:
        time = (self.start or 0.0) + self.given / self.rate
        self.given += len(data)
        return data, time
