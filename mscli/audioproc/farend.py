"""What ms plays, on the capture clock: the far end of echo cancellation.

Every speaker ms plays to (`-o speaker`, `--play`, a virtual speaker) adds what it plays to a
PlayedAudio with the capture time its first sample leaves the speaker. Readers ask for the
samples that were playing over a span of capture time: echo cancellation takes them as its
far-end reference (the module finds the echo's delay itself), a virtual microphone hears a
virtual speaker through them (delayed and scaled), and the round-trip measurement correlates
them with what the microphone captured. Nothing played is silence.

Samples are kept as mono float32 (full scale 1.0) at the rate they were played, for HISTORY
seconds; a reader at another rate gets them interpolated (good enough for a reference and for
a simulated echo path; what reaches a speaker or a file is resampled by libswresample).
Writers and readers run on different threads: one lock guards the chunks.
"""

from __future__ import annotations

import bisect
import threading
from typing import TYPE_CHECKING

# numpy is imported where samples are handled: every capture makes a Playback, and one that
# plays nothing (a stream copy above all) need not load numpy.
if TYPE_CHECKING:
    import numpy as np

HISTORY = 30.0  # seconds of played audio kept: longer than any echo path or measurement window


class PlayedAudio:
    """What one speaker played: chunks of mono samples, each with its start time."""

    def __init__(self, history: float = HISTORY):
        self.history = history
        self._lock = threading.Lock()
        self._starts: list[float] = []  # capture time of each chunk's first sample, rising
        self._chunks: list[tuple[np.ndarray, int]] = []  # (mono float32, sample rate)
        self.samples = 0  # samples played in all (at their own rates)

    def add(self, data: np.ndarray, rate: int, time: float) -> None:
        """`data` (int16, (samples, channels)) starts leaving the speaker at capture time
        `time`. Chunks come in time order; one that overlaps its predecessor replaces the
        overlapped part (a speaker plays one thing at a time)."""
        import numpy as np

        mono = data.astype(np.float32).mean(axis=1) / 32768.0 if data.ndim == 2 \
            else data.astype(np.float32) / 32768.0
        with self._lock:
            self._starts.append(time)
            self._chunks.append((mono, rate))
            self.samples += len(mono)
            self._forget(time - self.history)

    def read(self, time: float, count: int, rate: int) -> np.ndarray:
        """The `count` samples at `rate` that were playing from capture time `time`: mono
        float32, zero where nothing played."""
        import numpy as np

        out = np.zeros(count, np.float32)
        end = time + count / rate
        with self._lock:
            first = max(bisect.bisect_right(self._starts, time) - 1, 0)
            for start, (mono, chunk_rate) in zip(self._starts[first:], self._chunks[first:]):
                if start >= end:
                    break
                _overlay(out, time, rate, mono, start, chunk_rate)
        return out

    def _forget(self, before: float) -> None:
        keep = bisect.bisect_left(self._starts, before)
        if keep > 1:  # keep the chunk playing at `before`
            del self._starts[:keep - 1], self._chunks[:keep - 1]


def _overlay(out: np.ndarray, time: float, rate: int, mono: np.ndarray, start: float,
             chunk_rate: int) -> None:
    """Copy the part of one played chunk that falls in out's span into out."""
    import numpy as np

    # out[i] is the sample at time + i / rate; the chunk's sample j plays at start + j / chunk_rate
    first = max(int(np.ceil((start - time) * rate - 1e-6)), 0)
    last = min(int(np.floor((start + len(mono) / chunk_rate - time) * rate - 1e-6)) + 1,
               len(out))
    if last <= first:
        return
    # At whole positions (same rate, aligned times) interpolation returns the samples as they
    # are. Only the part of the chunk in the span is interpolated over: a writer may add a
    # whole file as one chunk, and readers take 10 ms at a time.
    positions = (time + np.arange(first, last) / rate - start) * chunk_rate
    lo = max(int(positions[0]), 0)
    hi = min(int(positions[-1]) + 2, len(mono))
    out[first:last] = np.interp(positions - lo, np.arange(hi - lo), mono[lo:hi])


class Playback:
    """Everything one capture plays, by speaker (its deviceId): the session holds one."""

    def __init__(self):
        self._lock = threading.Lock()
        self._speakers: dict[str, PlayedAudio] = {}

    def speaker(self, device_id: str) -> PlayedAudio:
        """The record of one speaker, made on first use (by a writer or a reader)."""
        with self._lock:
            return self._speakers.setdefault(device_id, PlayedAudio())

    @property
    def playing(self) -> bool:
        """Whether ms plays anything in this capture (an echo canceller needs a far end)."""
        with self._lock:
            return any(p.samples for p in self._speakers.values())

    def mix(self, time: float, count: int, rate: int) -> np.ndarray:
        """Everything ms played, summed: echo cancellation's reference."""
        import numpy as np

        with self._lock:
            speakers = list(self._speakers.values())
        out = np.zeros(count, np.float32)
        for played in speakers:
            out += played.read(time, count, rate)
        return out
